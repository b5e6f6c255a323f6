"""Compose a round from its config: the Stage 1 or Stage 2 step list, run with progress."""

from __future__ import annotations

from collections.abc import Callable

from lake import Lake
from pipelines.dbt_runner import refresh_analyst_file
from pipelines.rounds.config import RoundConfig
from pipelines.rounds.runner import RoundOutcome, run_round
from pipelines.rounds.step import Step


def steps_for(stage: int) -> list[Step]:
    if stage == 1:
        from pipelines.rounds.stage1 import stage1_steps

        return stage1_steps()
    if stage == 2:
        from pipelines.rounds.stage2 import stage2_steps

        return stage2_steps()
    raise ValueError(f"--stage must be 1 or 2, got {stage!r}")


def run_configured_round(lake: Lake, config: RoundConfig, log: Callable[[str], None] = print) -> RoundOutcome:
    """Run (or resume) round ``config.round`` of stage ``config.stage``."""
    if config.round < 1:
        raise ValueError(f"--round must be >= 1, got {config.round}")
    if config.eval_limit is not None and config.eval_limit < 1:
        raise ValueError(f"--eval-limit must be >= 1 (leave it out for every item), got {config.eval_limit}")
    if config.eval_benchmarks:  # a wrong path fails now, not after the round trained its RMs
        from pipelines.rounds.steps_eval import named_benchmarks

        named_benchmarks(config.eval_benchmarks)
    outcome = run_round(lake, config.round, int(config.stage), steps_for(int(config.stage)), config, log=log)
    refresh_analyst_file(lake)  # the round's tags and marts, queryable from any DuckDB client
    return outcome
