"""Compose a round from its config: the Stage 1 or Stage 2 step list, run with progress."""

from __future__ import annotations

from collections.abc import Callable

from lake import Lake
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
    return run_round(lake, config.round, int(config.stage), steps_for(int(config.stage)), config, log=log)
