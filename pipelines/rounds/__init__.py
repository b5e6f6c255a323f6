"""Curation rounds: steps recorded in ``round_steps``, resumable, gated before publish."""

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
