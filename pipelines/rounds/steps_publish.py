"""The round's publish step: ``curated`` and ``flipped`` tagged ``round-N``, after the gate."""

from __future__ import annotations

from pipelines.rounds.step import RoundContext, Step, StepResult


class Publish(Step):
    """Write the kept (and, in Stage 2, flipped) pairs of the round, tagged ``round-N``."""

    name, reads, writes = "publish", ("pairs",), ("curated", "flipped")

    def run(self, ctx: RoundContext) -> StepResult:
        from pipelines.publish import publish

        report = publish(ctx.lake, ctx.round)
        facts = {"kept_fraction": report.kept_fraction, "n_kept": report.n_kept, "n_flipped": report.n_flipped}
        return StepResult(counts=report.counts, facts=facts, message=f"published curated and flipped @{report.tag}")
