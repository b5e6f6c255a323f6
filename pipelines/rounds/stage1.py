"""Stage 1 (docs/method.md): silver RM, gold scores, adaptive retrieval, labels, trust, benchmark eval,
dbt, gate, publish.

Round N trains on the previous round's published snapshot (``curated@round-(N-1)``;
round 1 on the pool's original labels), keeps the checkpoint with the best accuracy on
gold (the RM module selects it), scores the gold pairs, retrieves each gold pair's k
nearest unverified pairs and queues them for judges and humans, judges (when a backend
exists), takes in the human labels that exist, measures every source on gold, evaluates the
silver RM on the round's benchmark files (``--eval-benchmarks``), builds the dbt marts for the
round, gates, and publishes ``round-N``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from lake.labels import gold_ids
from pipelines.rounds.step import RoundContext, Step, StepResult
from pipelines.rounds.steps_common import (
    Attributes,
    Embed,
    Gate,
    Judge,
    NearDup,
    Precheck,
    TakeLabels,
    Trust,
)
from pipelines.rounds.steps_dbt import DbtBuild
from pipelines.rounds.steps_eval import EvalBenchmarks
from pipelines.rounds.steps_publish import Publish
from pipelines.rounds.steps_report import Report

if TYPE_CHECKING:
    from rm.config import TrainConfig


def rm_train_config(ctx: RoundContext, role: str, table: str, tag: str | None) -> TrainConfig:
    """The round's RM recipe (``config.rm``) for the ``role`` RM of this round, trained on ``table@tag``."""
    rm = ctx.config.rm
    return replace(
        rm,
        table=table,
        tag=tag,
        out=ctx.config.run_dir(role, ctx.lake.root),
        run_id=f"round-{ctx.round}-{role}",
        role=role,
        round=ctx.round,
        eval_every=max(1, (rm.max_steps or 50) // 2),  # each eval scores all of gold: twice is enough on CPU
    )


SILVER_WHERE = "label_provenance = 'llm-judge'"
UNVERIFIED = "unverified original labels"


def silver_snapshot(ctx: RoundContext) -> tuple[str, str | None, str | None, str]:
    """(table, tag, filter, label basis) the silver RM trains on.

    Silver is the previous round's kept pairs that trusted judges labelled. With fewer than
    ``rm_min_silver`` of them the RM trains on the previous kept set (or, in round 1, the raw
    pool) with its original labels, and the run records that it did.
    """
    tag = ctx.previous_tag
    if tag and tag in ctx.lake.tags("curated"):
        n_silver = ctx.lake.dataset("curated", tag).count_rows(filter=SILVER_WHERE)
        if n_silver >= ctx.config.rm_min_silver:
            return "curated", tag, SILVER_WHERE, "silver"
        return "curated", tag, None, UNVERIFIED
    return "pairs", None, None, UNVERIFIED


class SilverRM(Step):
    """Train the RM on silver and keep the checkpoint with the best gold accuracy."""

    name, reads, writes = "silver_rm", ("pairs", "curated", "human_labels"), ("rm_runs",)

    def run(self, ctx: RoundContext) -> StepResult:
        if ctx.config.scope == "no-rm":
            return StepResult(status="skipped", message="--scope no-rm: no reward model this round")
        from pipelines.trust.splits import select_split
        from rm import train

        table, tag, where, basis = silver_snapshot(ctx)
        config = rm_train_config(ctx, "silver", table, tag)
        config.where, config.label_basis = where, basis
        result = train(config, lake=ctx.lake, select_ids=select_split(gold_ids(ctx.lake)))
        return StepResult(
            counts=result.counts,
            facts={
                "silver_run_id": result.run_id,
                "silver_run_dir": str(Path(result.run_dir).resolve()),
                "silver_gold_accuracy": result.gold_accuracy,
                "silver_trained_on": f"{table}@{tag or 'committed'}",
                "silver_label_basis": basis,
            },
            message=f"trained on {table}@{tag or 'committed'} ({basis}); accuracy on the selection half of gold "
            f"{result.gold_accuracy} (in sample: trust is measured on the other half)",
        )


class ScoreGold(Step):
    """p = sigmoid(r(chosen) - r(rejected)) for every gold pair, under the silver RM."""

    name, reads, writes = "score_gold", ("pairs", "human_labels"), ("rm_scores", "pairs")

    def run(self, ctx: RoundContext) -> StepResult:
        run_dir = ctx.fact("silver_run_dir")
        if not run_dir:
            return StepResult(status="skipped", message="no RM this round")
        gold = sorted(gold_ids(ctx.lake))
        if not gold:
            return StepResult(status="skipped", message="no gold pairs yet: label some (`prefhouse label serve`)")
        from rm.score import score

        cfg = replace(ctx.config.score, run=Path(run_dir), table="pairs", max_length=ctx.config.rm.max_length)
        report = score(ctx.lake, run_dir, "pairs", pair_ids=gold, config=cfg)
        return StepResult(counts={"gold_pairs": len(gold)} | report.counts)


class Retrieve(Step):
    """Adaptive retrieval: each gold pair's k nearest unverified pairs, routed to judges or humans."""

    name, reads, writes = "retrieve", ("pairs", "rm_scores", "human_labels"), ("retrieval_queue",)

    def run(self, ctx: RoundContext) -> StepResult:
        run_id = ctx.fact("silver_run_id")
        if not run_id or not gold_ids(ctx.lake):
            return StepResult(status="skipped", message="no gold pairs scored this round: nothing to retrieve from")
        from pipelines.retrieval.retrieve import retrieve

        report = retrieve(ctx.lake, replace(ctx.config.retrieve, round=ctx.round, run=run_id))
        return StepResult(counts=report.counts)


def stage1_steps() -> list[Step]:
    return [
        Attributes(),
        SilverRM(),
        ScoreGold(),
        Embed(),
        NearDup(),
        Retrieve(),
        Judge(),
        TakeLabels(),
        Precheck(),
        Trust(),
        EvalBenchmarks(),
        DbtBuild(),
        Gate(),
        Publish(),
        Report(),
    ]
