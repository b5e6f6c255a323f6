"""The best reward model so far: the silver (or best) run with the highest accuracy on the selection
half of gold (its trust is then measured on the other half, so the choice does not flatter it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lake import Lake

CANDIDATE_ROLES = ("silver", "best")


@dataclass
class BestRunReport:
    run_id: str
    run_dir: str
    gold_accuracy: float
    candidates: int  # runs it was chosen among

    @property
    def counts(self) -> dict[str, int]:
        return {"candidates": self.candidates}  # the accuracy is the choice's reason, not a count


def best_run(lake: Lake) -> BestRunReport | None:
    """The ``rm_runs`` row with the best gold accuracy among silver/best runs (ties: later round, then
    run id); None when no such run has a gold accuracy."""
    runs = lake.dataset("rm_runs").to_table().to_pylist()
    candidates = [r for r in runs if r["role"] in CANDIDATE_ROLES and r["gold_accuracy"] is not None]
    if not candidates:
        return None
    best = max(candidates, key=lambda r: (r["gold_accuracy"], r["round"] or 0, r["run_id"]))
    return BestRunReport(best["run_id"], best["run_dir"], best["gold_accuracy"], len(candidates))
