"""The round's ``dbt build``: the marts of the round, built with its vars over the pinned lake.

A failing dbt build blocks the round like a failing gate: nothing is published and the
previous round's tag stays where it was.
"""

from __future__ import annotations

from typing import Any

from pipelines.rounds.step import GateBlocked, RoundContext, Step, StepResult

DBT_READS = (
    "pairs", "attributes", "human_labels", "judge_labels", "judge_gates", "rm_runs", "rm_scores", "curated",
    "source_trust", "annotator_agreement",
)  # fmt: skip


def dbt_vars(ctx: RoundContext) -> dict[str, Any]:
    """Round vars: how the judges' votes merge; in Stage 2 the gold and best RM runs this round chose."""
    out: dict[str, Any] = {"judge_merge": ctx.config.judge.merge}
    if ctx.stage == 2:
        if ctx.fact("gold_run_id"):
            out["gold_rm_run"] = ctx.fact("gold_run_id")
        if ctx.fact("best_run_id"):
            out["best_rm_run"] = ctx.fact("best_run_id")
    return out


class DbtBuild(Step):
    """``dbt build`` with the round's vars over the lake pinned at its committed versions."""

    name, reads, writes = "dbt_build", DBT_READS, ()

    def run(self, ctx: RoundContext) -> StepResult:
        from pipelines.dbt_runner import build

        result = build(ctx.lake, ctx.round, ctx.stage, vars=dbt_vars(ctx), quiet=True)
        if not result.success:
            raise GateBlocked("dbt build failed: " + "; ".join(result.failures[:10]))
        return StepResult(
            counts=result.counts,
            facts={"dbt_database": result.duckdb_path, "dbt_target": result.target_path},
        )
