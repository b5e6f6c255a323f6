"""The one definition of a gold verdict, shared by the reward model, judges and retrieval."""

from __future__ import annotations

from collections import Counter
from typing import Any


def gold_verdicts(lake: Any) -> dict[str, str]:
    """Majority human verdict per pair (``chosen`` | ``rejected``) over non-discard labels.

    A pair whose annotators split evenly has no verdict and is left out, as are discards.
    """
    if not lake.exists("human_labels"):
        return {}
    table = lake.dataset("human_labels").to_table(columns=["pair_id", "verdict"], filter="verdict != 'discard'")
    votes: dict[str, Counter[str]] = {}
    for pid, verdict in zip(table["pair_id"].to_pylist(), table["verdict"].to_pylist(), strict=True):
        votes.setdefault(pid, Counter())[verdict] += 1
    return {
        pid: ("chosen" if c["chosen"] > c["rejected"] else "rejected")
        for pid, c in votes.items()
        if c["chosen"] != c["rejected"]
    }
