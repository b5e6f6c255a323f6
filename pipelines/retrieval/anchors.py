"""Each pair's nearest gold pairs by embedding: the demonstrations LLM judges see (Stage 2's queue)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from lake import Lake
from lake.labels import gold_verdicts
from pipelines.retrieval.config import MAX_DEMOS
from pipelines.retrieval.embed import EMBEDDINGS
from pipelines.retrieval.search import VectorIndex


class _GoldVectors(VectorIndex):
    """Exact search over the gold pairs' vectors only: gold is small (thousands), one in-memory matrix."""

    def __init__(self, lake: Lake, gold: Iterable[str]) -> None:
        super().__init__(lake, EMBEDDINGS, "pair_id")
        found = self.vectors(list(gold))
        keys = sorted(found)  # key order: the exact search breaks similarity ties by key
        self._keys = np.asarray(keys, dtype=object)
        self._matrix = np.stack([found[g] for g in keys]) if keys else np.zeros((0, 0), np.float32)
        self.n, self.use_ann = len(keys), False


def gold_anchors(
    lake: Lake,
    pair_ids: Iterable[str],
    k: int = MAX_DEMOS,
    gold_p: Mapping[str, float] | None = None,
    batch_size: int = 4096,
) -> dict[str, list[dict[str, Any]]]:
    """Each pair's ``k`` nearest gold pairs by embedding similarity, best first: its judge demonstrations.

    Gold = pairs with a human majority verdict (:func:`lake.labels.gold_verdicts`, what the judges
    can show); a pair is never its own anchor. Anchors are ``RETRIEVAL_QUEUE`` anchor structs:
    ``rank`` 1 = most similar, ``p`` = ``gold_p`` of the gold pair (the best RM's p) or None,
    ``k`` = anchors asked for. The pairs' vectors are read from ``embeddings`` ``batch_size`` at a
    time and searched exactly against the gold matrix (memory: one batch plus gold); a pair without
    a vector, or a lake without gold or embeddings, gets [].
    """
    if not 0 <= k <= MAX_DEMOS:
        raise ValueError(f"k must lie in [0, {MAX_DEMOS}] (the judges show at most {MAX_DEMOS}), got {k}")
    wanted = sorted(set(pair_ids))
    out: dict[str, list[dict[str, Any]]] = {pid: [] for pid in wanted}
    gold = gold_verdicts(lake)
    if not wanted or not gold or k <= 0 or not lake.exists(EMBEDDINGS):
        return out
    index = _GoldVectors(lake, gold)
    if not index.n:
        return out
    p_of = gold_p or {}
    for start in range(0, len(wanted), batch_size):
        found = index.vectors(wanted[start : start + batch_size])  # from the whole embeddings table
        ids = sorted(found)
        if not ids:
            continue
        hits = index.search(np.stack([found[pid] for pid in ids]), k + 1)  # + 1: the pair itself may be gold
        for pid, hs in zip(ids, hits, strict=True):
            out[pid] = [
                {"gold_pair_id": g, "rank": rank, "similarity": sim, "p": p_of.get(g), "k": k}
                for rank, (g, sim) in enumerate([h for h in hs if h[0] != pid][:k], start=1)
            ]
    return out
