"""Row buffers that become Arrow batches of the lake's schemas.

Rows are appended as tuples (one cheap append per row) and transposed with ``zip``
once per batch; the ``conversation`` column is built from offsets and flat role/content
arrays instead of a list of dicts per row. Constant columns (batch id, time) are filled
once per batch.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from lake.schemas import PAIRS, TURN

PAIR_COLUMNS = ("pair_id", "prompt_id", "pairset_id", "chosen", "rejected", "is_tie", "category", "label_origin",
                "label_details", "source", "source_file", "source_row")  # fmt: skip


class Columns:
    """Rows of the named columns (tuples in ``names`` order)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.rows: list[tuple[Any, ...]] = []
        self.offsets: list[int] = [0]
        self.roles: list[str] = []
        self.contents: list[str] = []

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, *values: Any) -> None:
        self.rows.append(values)

    def add_conversation(self, conversation: list[dict[str, str]]) -> None:
        for t in conversation:
            self.roles.append(t["role"])
            self.contents.append(t["content"])
        self.offsets.append(len(self.roles))

    def columns(self) -> dict[str, list[Any]]:
        if not self.rows:
            return {name: [] for name in self.names}
        return dict(zip(self.names, (list(c) for c in zip(*self.rows, strict=True)), strict=True))


def _constant(value: Any, n: int, type_: pa.DataType) -> pa.Array:
    return pa.repeat(pa.scalar(value, type_), n)


def pairs_batch(cols: Columns, batch_id: str, now: Any) -> pa.RecordBatch:
    turns = pa.StructArray.from_arrays(
        [pa.array(cols.roles, pa.string()), pa.array(cols.contents, pa.string())], fields=list(TURN)
    )
    conv_type = PAIRS.field("conversation").type
    conversation = pa.ListArray.from_arrays(pa.array(cols.offsets, pa.int32()), turns, type=conv_type)
    data = cols.columns()
    n = len(cols)
    arrays = []
    for f in PAIRS:
        if f.name == "conversation":
            arrays.append(conversation)
        elif f.name == "ingest_batch_id":
            arrays.append(_constant(batch_id, n, f.type))
        elif f.name == "ingested_at":
            arrays.append(_constant(now, n, f.type))
        else:
            arrays.append(pa.array(data[f.name], f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=PAIRS)


def small_table(cols: Columns, schema: pa.Schema) -> pa.Table:
    """A table of ``schema`` from rows whose names match the schema's fields."""
    data = cols.columns()
    return pa.Table.from_arrays([pa.array(data[f.name], f.type) for f in schema], schema=schema)
