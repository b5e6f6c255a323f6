"""Which gold pairs select a checkpoint and which measure trust: disjoint, stable, by pair id.

A source may only be measured on gold pairs it never trained on and was not selected on.
Silver and best RMs pick their checkpoint on the ``select`` half and are measured on the
``measure`` half; the gold RM, trained on gold itself, is cross-fitted over ``folds``.
The split hashes the pair id (not a seed), so every round and every re-run agrees on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def _bucket(pair_id: str, buckets: int) -> int:
    return int.from_bytes(hashlib.sha256(f"trust-split/{pair_id}".encode()).digest()[:8], "big") % buckets


def select_split(gold: Iterable[str]) -> list[str]:
    """Gold pairs that select checkpoints (and the best RM): half of gold."""
    return sorted(g for g in gold if _bucket(g, 2) == 0)


def measure_split(gold: Iterable[str]) -> list[str]:
    """Gold pairs that measure trust: the other half, never used for selection."""
    return sorted(g for g in gold if _bucket(g, 2) == 1)


def folds(gold: Iterable[str], k: int) -> list[list[str]]:
    """``k`` disjoint folds covering gold, for cross-fitting."""
    if k < 2:
        raise ValueError(f"cross-fitting needs at least 2 folds, got {k}")
    out: list[list[str]] = [[] for _ in range(k)]
    for g in sorted(gold):
        out[int.from_bytes(hashlib.sha256(f"fold/{g}".encode()).digest()[:8], "big") % k].append(g)
    return out
