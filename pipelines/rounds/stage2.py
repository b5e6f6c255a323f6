"""Stage 2 (docs/method.md): gold RM on all human labels, best RM from Stage 1, score the pool with
both, send only the uncertain pairs to the judges, measure trust and evaluate both RMs on the
round's benchmark files, keep / flip by the rule in the dbt mart, gate, publish the kept set and
the flipped set.

Triage (:mod:`pipelines.retrieval.triage`) queues each uncertain pair with its nearest gold pairs by
``(x, a)`` embedding, which the judges see as demonstrations, as Stage 1's retrieved pairs carry the
gold pairs that retrieved them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from pipelines.rounds.stage1 import rm_train_config
from pipelines.rounds.step import RoundContext, Step, StepFailed, StepResult
from pipelines.rounds.steps_common import Embed, Gate, Judge, NearDup, Trust, has_judges
from pipelines.rounds.steps_dbt import DbtBuild
from pipelines.rounds.steps_eval import EvalBenchmarks
from pipelines.rounds.steps_publish import Publish
from pipelines.rounds.steps_report import Report

MIN_GOLD = 8


class GoldRM(Step):
    """Train the gold RM on every human-verified pair (oriented as the humans said), cross-fitted.

    ``gold_rm_folds`` fold models, each trained on the other folds with the same recipe, score
    every gold pair out of fold: that accuracy is the gold RM's trust (``source_trust``). The
    gold RM itself then trains on all of gold with no checkpoint selection.
    """

    name, reads, writes = "gold_rm", ("pairs", "human_labels"), ("rm_runs", "source_trust")

    def run(self, ctx: RoundContext) -> StepResult:
        from lake.labels import gold_verdicts
        from lake.snapshot import open_snapshot
        from pipelines.trust import measure, splits
        from rm.crossfit import out_of_fold
        from rm.data import read_gold_pairs
        from rm.train import register_run, train_examples

        gold = read_gold_pairs(ctx.lake, "pairs", None, "human_labels")
        if len(gold) < MIN_GOLD:
            raise StepFailed(
                f"Stage 2 needs at least {MIN_GOLD} gold pairs to train the gold RM, found {len(gold)}: "
                "label pairs (`prefhouse label serve`) or import human labels, then re-run the round"
            )
        config = rm_train_config(ctx, "gold", "pairs", None)
        config.limit, config.label_basis = None, "gold"
        k = ctx.config.gold_rm_folds
        oof = out_of_fold(config, gold, splits.folds([e.pair_id for e in gold], k))
        verdicts = gold_verdicts(ctx.lake)
        p_stored = {pid: p if verdicts.get(pid) == "chosen" else 1.0 - p for pid, p in oof.items()}
        snap = open_snapshot(ctx.lake, "pairs")
        result = train_examples(config, gold, [], {**snap.describe(), "gold_source": "human_labels"})
        register_run(ctx.lake, config, result, snap)
        (Path(result.run_dir) / "out_of_fold.json").write_text(json.dumps(p_stored))
        row = measure.measure_rm(
            ctx.lake, ctx.round, result.run_id, "gold", list(p_stored), f"{k}-fold cross-fitting over gold",
            "gold", p_of=p_stored,
        )  # fmt: skip
        measure.write_rows(ctx.lake, [row], f"trust round {ctx.round}: gold RM {result.run_id} (out of fold)")
        return StepResult(
            counts={"gold_pairs": len(gold), "steps": result.steps, "folds": k, "scored_out_of_fold": len(oof)},
            facts={"gold_run_id": result.run_id, "gold_run_dir": str(Path(result.run_dir).resolve())},
            message=f"out-of-fold accuracy {row['accuracy'] or 0:.3f} on {row['n']} gold pairs "
            f"[{row['ci_low'] or 0:.3f}, {row['ci_high'] or 0:.3f}]",
        )


class BestRM(Step):
    """The best RM of Stage 1: the silver run with the highest accuracy on the selection half of gold
    (its trust is then measured on the other half)."""

    name, reads, writes = "best_rm", ("rm_runs",), ()

    def run(self, ctx: RoundContext) -> StepResult:
        from rm.selection import best_run

        best = best_run(ctx.lake)
        if best is None:
            raise StepFailed("no Stage 1 reward model with a gold accuracy: run Stage 1 rounds first")
        return StepResult(
            counts=best.counts,
            facts={"best_run_id": best.run_id, "best_run_dir": best.run_dir},
            message=f"{best.run_id} (accuracy {best.gold_accuracy:.3f} on the selection half of gold)",
        )


class ScorePool(Step):
    """Score every pair of the pool with the gold RM and the best RM (resumable, incremental)."""

    name, reads, writes = "score_pool", ("pairs",), ("rm_scores", "pairs")

    def run(self, ctx: RoundContext) -> StepResult:
        from rm.score import score

        n = ctx.lake.dataset("pairs").count_rows()
        scoring = ctx.config.score
        for key in ("gold_run_dir", "best_run_dir"):
            run_dir = ctx.fact(key)
            cfg = replace(scoring, run=Path(run_dir), max_length=ctx.config.rm.max_length)
            score(ctx.lake, run_dir, "pairs", config=cfg, progress=True)
        return StepResult(counts={"pairs": n, "runs": 2, "score_columns_written": int(scoring.write_columns)})


class EmbedForJudges(Embed):
    """Embed new or changed pairs (incremental) so that triage can give each queued pair its nearest
    gold pairs; skipped without a backend, since then nothing is queued."""

    def run(self, ctx: RoundContext) -> StepResult:
        if not has_judges(ctx):
            return StepResult(status="skipped", message="no LLM backend: nothing is queued, so no demonstrations")
        return super().run(ctx)


class Triage(Step):
    """Pairs the best RM confidently agrees with skip the judges; the rest are queued for them,
    each with its nearest gold pairs as demonstrations."""

    name, reads, writes = "triage", ("rm_scores", "human_labels"), ("retrieval_queue",)

    def run(self, ctx: RoundContext) -> StepResult:
        from pipelines.retrieval.triage import triage

        judged = has_judges(ctx)
        report = triage(ctx.lake, replace(ctx.config.triage, round=ctx.round, run=ctx.fact("best_run_id")), judged)
        message = "" if judged else "no LLM backend: uncertain pairs are left to the RM rule"
        return StepResult(counts=report.counts, message=message)


def stage2_steps() -> list[Step]:
    return [
        GoldRM(),
        BestRM(),
        ScorePool(),
        EmbedForJudges(),
        NearDup(),
        Triage(),
        Judge(),
        Trust(),
        EvalBenchmarks(),
        DbtBuild(),
        Gate(),
        Publish(),
        Report(),
    ]
