"""Read ``round_steps``: the record every round step leaves when it starts and ends.

The rounds write it (:mod:`pipelines.rounds.runner`); the report, the gate and the command
line read it here, so nothing reads back up into the rounds layer.
"""

from __future__ import annotations

from typing import Any

from lake.store import Lake

CONFIG_RECORD = "config"  # the row a round run leaves with its resolved config: a record, not a step


def step_records(lake: Lake, round: int | None = None, stage: int | None = None) -> list[dict[str, Any]]:
    """Every record of ``round_steps`` (optionally one round/stage), oldest first."""
    rows = lake.dataset("round_steps").to_table().to_pylist()
    rows = [r for r in rows if (round is None or r["round"] == round) and (stage is None or r["stage"] == stage)]
    return sorted(rows, key=lambda r: (r["started_at"], r["finished_at"]))


def latest_by_step(lake: Lake, round: int, stage: int) -> dict[str, dict[str, Any]]:
    """The latest record of each step of a round (the config records are not steps)."""
    latest: dict[str, dict[str, Any]] = {}
    for row in step_records(lake, round, stage):
        if row["step"] != CONFIG_RECORD:
            latest[row["step"]] = row
    return latest
