"""The SQL half of a round: ``dbt build`` for the round, then publish ``round-N`` after the gate.

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
    out: dict[str, Any] = {"judge_merge": ctx.config.judge_merge}
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
            counts={k.replace(" ", "_"): v for k, v in result.counts.items()},
            facts={"dbt_database": result.duckdb_path, "dbt_target": result.target_path},
        )


class Publish(Step):
    """Write the kept (and, in Stage 2, flipped) pairs of the round, tagged ``round-N``."""

    name, reads, writes = "publish", ("pairs",), ("curated", "flipped")

    def run(self, ctx: RoundContext) -> StepResult:
        from pipelines import publish as pub

        report = pub.publish(ctx.lake, ctx.round)
        kept, flipped = int(report.n_kept), int(report.n_flipped)
        total = _decided(ctx)
        facts = {"kept_fraction": kept / total if total else None, "n_kept": kept, "n_flipped": flipped}
        counts = {"in": total, "kept": kept, "flipped": flipped}
        return StepResult(counts=counts, facts=facts, message=f"published curated and flipped @{report.tag}")


def _decided(ctx: RoundContext) -> int:
    """Pairs the round's mart decided on (the denominator of the kept fraction)."""
    import duckdb

    db = ctx.fact("dbt_database")
    if not db:
        return 0
    con = duckdb.connect(db, read_only=True, config={"autoinstall_known_extensions": False})
    try:
        return int(con.sql(f"select count(*) from curated_pairs where round = {ctx.round}").fetchone()[0])
    finally:
        con.close()


class Report(Step):
    """Collect the round's report data while the marts hold this round, and write the HTML."""

    name, reads, writes = "report", ("curated", "rm_runs"), ()

    def run(self, ctx: RoundContext) -> StepResult:
        from pipelines.report import write_report
        from pipelines.report.collect import collect, report_dir, save

        data = collect(ctx.lake, ctx.round, ctx.stage)
        save(ctx.lake, data)
        path = write_report(data, report_dir(ctx.lake, ctx.round) / "report.html")
        return StepResult(counts={"plots": 7}, facts={"report_html": str(path)}, message=str(path))
