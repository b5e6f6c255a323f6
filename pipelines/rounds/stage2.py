"""Stage 2 (docs/method.md): gold RM on all human labels, best RM from Stage 1, score the pool with
both, send only the uncertain pairs to the judges, measure trust and evaluate both RMs on the
round's benchmark files, keep / flip by the rule in the dbt mart, gate, publish the kept set and
the flipped set.

Each queued pair carries its nearest gold pairs by ``(x, a)`` embedding
(:func:`pipelines.retrieval.anchors.gold_anchors`),
which the judges see as demonstrations, as Stage 1's retrieved pairs carry the gold pairs that
retrieved them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from lake import Lake
from lake.schemas import RETRIEVAL_QUEUE
from pipelines.retrieval.anchors import MAX_DEMOS, gold_anchors
from pipelines.retrieval.retrieve import replace_queue_round
from pipelines.rounds.stage1 import rm_train_config
from pipelines.rounds.step import RoundContext, Step, StepFailed, StepResult
from pipelines.rounds.steps_common import Embed, Gate, Judge, NearDup, Trust, has_judges
from pipelines.rounds.steps_dbt import DbtBuild, Publish, Report
from pipelines.rounds.steps_eval import EvalBenchmarks

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
        runs = ctx.lake.dataset("rm_runs").to_table().to_pylist()
        candidates = [r for r in runs if r["role"] in ("silver", "best") and r["gold_accuracy"] is not None]
        if not candidates:
            raise StepFailed("no Stage 1 reward model with a gold accuracy: run Stage 1 rounds first")
        best = max(candidates, key=lambda r: (r["gold_accuracy"], r["round"] or 0, r["run_id"]))
        return StepResult(
            counts={"candidates": len(candidates)},
            facts={"best_run_id": best["run_id"], "best_run_dir": best["run_dir"]},
            message=f"{best['run_id']} (accuracy {best['gold_accuracy']:.3f} on the selection half of gold)",
        )


class ScorePool(Step):
    """Score every pair of the pool with the gold RM and the best RM (resumable, incremental)."""

    name, reads, writes = "score_pool", ("pairs",), ("rm_scores", "pairs")

    def run(self, ctx: RoundContext) -> StepResult:
        from rm import ScoreConfig
        from rm.score import score

        n = ctx.lake.dataset("pairs").count_rows()
        columns = ctx.config.score_columns
        for key in ("gold_run_dir", "best_run_dir"):
            run_dir = ctx.fact(key)
            cfg = ScoreConfig(run=Path(run_dir), write_columns=columns, max_length=ctx.config.rm_max_length)
            score(ctx.lake, run_dir, "pairs", config=cfg, progress=True)
        return StepResult(counts={"pairs": n, "runs": 2, "score_columns_written": int(columns)})


class EmbedForJudges(Embed):
    """Embed new or changed pairs (incremental) so that triage can give each queued pair its nearest
    gold pairs; skipped without a backend, since then nothing is queued."""

    def run(self, ctx: RoundContext) -> StepResult:
        if not has_judges(ctx):
            return StepResult(status="skipped", message="no LLM backend: nothing is queued, so no demonstrations")
        return super().run(ctx)


def queue_for_judges(
    lake: Lake, round_: int, pair_ids: Iterable[str], k: int = MAX_DEMOS, gold_p: Mapping[str, float] | None = None
) -> dict[str, int]:
    """Replace round ``round_`` of ``retrieval_queue`` with ``pair_ids``, routed to the judges, each
    with its nearest gold pairs as anchors; returns counts."""
    anchors = gold_anchors(lake, pair_ids, k, gold_p)
    now = datetime.now(UTC)
    rows = [
        {"round": round_, "pair_id": pid, "anchors": links, "best_similarity": links[0]["similarity"] if links else 0.0,
         "route": "judge", "queued_at": now}
        for pid, links in anchors.items()
    ]  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=RETRIEVAL_QUEUE)
    replace_queue_round(lake, round_, table, f"stage 2 triage round {round_}")
    return {"queued": len(rows), "without_anchors": sum(not links for links in anchors.values())}


class Triage(Step):
    """Pairs the best RM confidently agrees with skip the judges; the rest are queued for them,
    each with its nearest gold pairs as demonstrations."""

    name, reads, writes = "triage", ("rm_scores", "human_labels"), ("retrieval_queue",)

    def run(self, ctx: RoundContext) -> StepResult:
        lake, run_id = ctx.lake, ctx.fact("best_run_id")
        scores = lake.dataset("rm_scores").to_table(columns=["pair_id", "p"], filter=f"run_id = '{run_id}'")
        p_of = dict(zip(*scores.to_pydict().values(), strict=True))
        uncertain = sorted(pid for pid, p in p_of.items() if p <= ctx.config.confident_p)
        counts = {"confident": len(p_of) - len(uncertain), "uncertain": len(uncertain)}
        if not has_judges(ctx):
            return StepResult(counts=counts, message="no LLM backend: uncertain pairs are left to the RM rule")
        counts |= queue_for_judges(lake, ctx.round, uncertain, MAX_DEMOS, p_of)
        return StepResult(counts=counts)


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
