"""The one shape of a stage's report: a dataclass whose ``counts`` are its numeric fields.

A round step records a stage's ``report.counts`` as its counts; the round a report is for, the
lake version it wrote and flags are facts, not counts, and are left out. A report whose counts
read better under other names (``PublishReport``) overrides ``counts``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NOT_COUNTS = ("round", "version")


def counts_of(values: Mapping[str, Any]) -> dict[str, int | float]:
    """The numbers of a report (a dataclass's fields, or a report dict), bools, round and version left out."""
    return {
        k: v
        for k, v in values.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in NOT_COUNTS
    }


class Counted:
    """Mixin of a stage's report dataclass: ``counts`` are its numeric fields."""

    @property
    def counts(self) -> dict[str, int | float]:
        return counts_of(vars(self))
