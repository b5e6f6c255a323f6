"""Curation rounds: steps recorded in ``round_steps``, resumable, gated before publish.

Its names load their modules on first use (:mod:`lake.lazy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lake.lazy import lazy_names

if TYPE_CHECKING:
    from pipelines.rounds.runner import RoundOutcome, latest_by_step, round_status, run_round, step_records
    from pipelines.rounds.step import GateBlocked, RoundContext, Step, StepFailed, StepResult

__all__ = [
    "GateBlocked",
    "RoundContext",
    "RoundOutcome",
    "Step",
    "StepFailed",
    "StepResult",
    "latest_by_step",
    "round_status",
    "run_round",
    "step_records",
]

__getattr__ = lazy_names(
    __name__,
    {
        "RoundOutcome": "runner",
        "latest_by_step": "runner",
        "round_status": "runner",
        "run_round": "runner",
        "step_records": "runner",
        "GateBlocked": "step",
        "RoundContext": "step",
        "Step": "step",
        "StepFailed": "step",
        "StepResult": "step",
    },
)
