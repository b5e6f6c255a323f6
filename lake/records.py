"""Rows of the ``pairs`` table: the one Arrow builder of lake rows, and pairs from plain Python values.

:func:`record_batch` builds a batch of any lake schema from columns (arrays, lists of values, or
one value for every row); ingest builds its ``pairs`` and ``pair_sources`` rows with it, from
either of its paths, and :func:`pairs_table` the rows of :func:`pair_row`. :func:`pair_row` is
for tests, notebooks and small tools: ingestion of files goes through :mod:`pipelines.ingest`,
which streams and quarantines; this helper assumes valid input.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from lake import ids
from lake.schemas import PAIRS, TURN


def dumps_details(details: Mapping[str, Any] | None) -> str | None:
    """``label_details`` as stored, by every writer of ``pairs``: sorted JSON, non-ASCII kept."""
    return None if details is None else json.dumps(details, sort_keys=True, ensure_ascii=False, default=str)


def pair_row(
    conversation: Iterable[Mapping[str, str]] | str,
    chosen: str,
    rejected: str,
    *,
    source: str = "manual",
    source_file: str = "<memory>",
    source_row: int = 0,
    is_tie: bool = False,
    category: str | None = None,
    label_origin: str | None = None,
    label_details: Mapping[str, Any] | None = None,
    ingest_batch_id: str | None = None,
    ingested_at: datetime | None = None,
) -> dict[str, Any]:
    """One ``pairs`` row; a string conversation is a single user turn."""
    if isinstance(conversation, str):
        conversation = [{"role": "user", "content": conversation}]
    conv = ids.normalize_conversation(conversation)
    chosen_n, rejected_n = ids.normalize_text(chosen), ids.normalize_text(rejected)
    if is_tie:  # a tie has no order: canonicalise so both orders get one id
        chosen_n, rejected_n = sorted((chosen_n, rejected_n))
    return {
        "pair_id": ids.pair_id(conv, chosen_n, rejected_n),
        "prompt_id": ids.prompt_id(conv),
        "pairset_id": ids.pairset_id(conv, chosen_n, rejected_n),
        "conversation": conv,
        "chosen": chosen_n,
        "rejected": rejected_n,
        "is_tie": is_tie,
        "category": category,
        "label_origin": label_origin,
        "label_details": dumps_details(label_details),
        "source": source,
        "source_file": source_file,
        "source_row": source_row,
        "ingest_batch_id": ingest_batch_id or "manual-" + uuid.uuid4().hex[:12],
        "ingested_at": ingested_at or datetime.now(UTC),
    }


def pairs_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """An Arrow table with the ``pairs`` schema from rows made by :func:`pair_row`."""
    rows = list(rows)
    columns = {f.name: [r.get(f.name) for r in rows] for f in PAIRS}
    return pa.Table.from_batches([record_batch(PAIRS, columns, len(rows))])


Column = pa.Array | pa.ChunkedArray | np.ndarray | list | tuple  # per-row values; anything else is one for all rows


def _array(values: Any, type_: pa.DataType, n: int) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values if values.type == type_ else values.cast(type_)
    if isinstance(values, (np.ndarray, list, tuple)):
        return pa.array(values, type_)
    return pa.repeat(pa.scalar(values, type_), n)


def record_batch(schema: pa.Schema, columns: Mapping[str, Any], n: int) -> pa.RecordBatch:
    """``n`` rows of ``schema``; each field from ``columns``: per-row values, or one value for all (absent: null)."""
    return pa.RecordBatch.from_arrays([_array(columns.get(f.name), f.type, n) for f in schema], schema=schema)


def conversations(offsets: Column, roles: Column, contents: Column) -> pa.ListArray:
    """The ``conversation`` column: row ``i`` holds turns ``offsets[i]`` to ``offsets[i + 1]`` of roles and contents."""
    n = len(roles)
    turns = pa.StructArray.from_arrays([_array(roles, pa.string(), n), _array(contents, pa.string(), n)],
                                       fields=list(TURN))  # fmt: skip
    return pa.ListArray.from_arrays(_array(offsets, pa.int32(), 0), turns, type=PAIRS.field("conversation").type)
