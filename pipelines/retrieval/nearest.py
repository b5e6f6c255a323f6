"""Notebook API: the nearest pairs of a pair or of any text.

>>> from lake import Lake
>>> from pipelines.retrieval.nearest import nearest
>>> nearest(Lake("lakehouse"), "How do I reverse a list in Python?", k=5, filters={"task_category": "coding"})

Returns a pyarrow Table (``.to_pandas()`` / ``polars.from_arrow`` for display): rank,
pair_id, similarity, category, task_category and the start of the prompt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from lake import Lake, LakeError
from pipelines.retrieval.embed import EMBEDDINGS, ok_attributes
from pipelines.retrieval.encoder import Encoder
from pipelines.retrieval.search import VectorIndex

PAIR_COLUMNS = ("category", "source", "label_origin", "is_tie", "prompt_id")
ATTRIBUTE_COLUMNS = ("task_category", "objectivity", "controversiality")
_ENCODERS: dict[str, Encoder] = {}


def _allowed(lake: Lake, filters: Mapping[str, Any]) -> set[str]:
    """pair_ids whose columns match every filter (a value, or a list of accepted values)."""
    unknown = set(filters) - set(PAIR_COLUMNS) - set(ATTRIBUTE_COLUMNS)
    if unknown:
        raise ValueError(f"unknown filter {sorted(unknown)}: filter on {PAIR_COLUMNS + ATTRIBUTE_COLUMNS}")
    pair_cols = [c for c in filters if c in PAIR_COLUMNS]
    frame = pl.from_arrow(lake.dataset("pairs").to_table(columns=["pair_id", *pair_cols]))
    if any(c in ATTRIBUTE_COLUMNS for c in filters):
        frame = frame.join(ok_attributes(lake).select("pair_id", *ATTRIBUTE_COLUMNS), on="pair_id", how="left")  # type: ignore[union-attr]
    for column, value in filters.items():
        values = list(value) if isinstance(value, (list, tuple, set)) else [value]
        frame = frame.filter(pl.col(column).is_in(values))  # type: ignore[union-attr]
    return set(frame.get_column("pair_id").to_list())  # type: ignore[union-attr]


def _query_vector(index: VectorIndex, query: str) -> tuple[np.ndarray, str | None]:
    if re.fullmatch(r"[0-9a-f]{32}", query):
        found = index.vectors([query])
        if query in found:
            return found[query], query
    if index.model is None:
        raise LakeError("the embeddings table is empty: run `prefhouse embed` first")
    encoder = _ENCODERS.setdefault(index.model, Encoder(index.model))
    return encoder.encode([query])[0], None


def nearest(
    lake: Lake, query: str, k: int = 8, filters: Mapping[str, Any] | None = None, index: VectorIndex | None = None
) -> pa.Table:
    """The ``k`` pairs nearest to ``query`` (a pair_id in the embeddings table, else a text)."""
    index = index or VectorIndex(lake, EMBEDDINGS, "pair_id")
    vector, self_id = _query_vector(index, query)
    allowed = _allowed(lake, filters) if filters else None
    m = max(4 * k, 32)
    while True:  # over-fetch until k hits pass the filters or the table is exhausted
        hits = [h for h in index.search(vector, m + 1)[0] if h[0] != self_id and (allowed is None or h[0] in allowed)][
            :k
        ]
        if len(hits) >= k or m >= index.n:
            break
        m *= 4
    return _describe(lake, hits)


def _describe(lake: Lake, hits: list[tuple[str, float]]) -> pa.Table:
    ids = [h[0] for h in hits]
    pairs = lake.dataset("pairs").to_table(
        columns=["pair_id", "category", "conversation"], filter=pc.field("pair_id").isin(pa.array(ids, pa.string()))
    )
    by_id = {r["pair_id"]: r for r in pairs.to_pylist()}
    attrs = dict(ok_attributes(lake).select("pair_id", "task_category").iter_rows())
    prompt = [next((t["content"] for t in by_id[i]["conversation"] if t["role"] == "user"), "")[:200] for i in ids]
    return pa.table(
        {
            "rank": pa.array(range(1, len(ids) + 1), pa.int32()),
            "pair_id": pa.array(ids, pa.string()),
            "similarity": pa.array([h[1] for h in hits], pa.float32()),
            "category": pa.array([by_id[i]["category"] for i in ids], pa.string()),
            "task_category": pa.array([attrs.get(i) for i in ids], pa.string()),
            "prompt": pa.array(prompt, pa.string()),
        }
    )
