"""The round's report step: its data collected while the marts hold this round, and the HTML."""

from __future__ import annotations

from pipelines.rounds.step import RoundContext, Step, StepResult


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
