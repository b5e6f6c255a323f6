"""Stage 2 (docs/method.md): gold RM on all human labels, best RM from Stage 1, score the pool with
both, send only the uncertain pairs to the judges, measure trust and evaluate both RMs on the
round's benchmark files, keep / flip by the rule in the dbt mart, gate, publish the kept set and
the flipped set.

Triage (:mod:`pipelines.retrieval.triage`) queues each uncertain pair with its nearest gold pairs by
``(x, a)`` embedding, which the judges see as demonstrations, as Stage 1's retrieved pairs carry the
gold pairs that retrieved them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pipelines.rounds.engine import score_table
from pipelines.rounds.stage1 import rm_train_config
from pipelines.rounds.step import RoundContext, Step, StepFailed, StepResult
from pipelines.rounds.steps_common import Embed, Gate, Judge, NearDup, Trust, has_judges
from pipelines.rounds.steps_dbt import DbtBuild
from pipelines.rounds.steps_eval import EvalBenchmarks
from pipelines.rounds.steps_publish import Publish
from pipelines.rounds.steps_report import Report


class GoldRM(Step):
    """Train the gold RM on every human-verified pair (oriented as the humans said), cross-fitted
    for its trust (:mod:`pipelines.trust.gold_rm`)."""

    name, reads, writes = "gold_rm", ("pairs", "human_labels"), ("rm_runs", "source_trust")

    def run(self, ctx: RoundContext) -> StepResult:
        from pipelines.trust.gold_rm import TooFewGold, train_gold_rm

        config = rm_train_config(ctx, "gold", "pairs", None)
        try:
            report = train_gold_rm(ctx.lake, ctx.round, config, ctx.config.gold_rm_folds)
        except TooFewGold as exc:
            raise StepFailed(str(exc)) from exc
        facts = {"gold_run_id": report.run_id, "gold_run_dir": report.run_dir}
        return StepResult(counts=report.counts, facts=facts, message=report.message())


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
        counts = {"pairs": ctx.lake.dataset("pairs").count_rows()}
        for role in ("gold", "best"):
            run_dir = ctx.fact(f"{role}_run_dir")
            cfg = replace(ctx.config.score, run=Path(run_dir), table="pairs", max_length=ctx.config.rm.max_length)
            report = score_table(ctx, run_dir, cfg)
            counts |= {f"{role}_{k}": v for k, v in report.counts.items()}
        return StepResult(counts=counts)


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
