"""Column buffers that become Arrow batches of the lake's schemas.

Rows are appended to plain Python lists per column (cheap), then turned into Arrow
arrays once per batch; the ``conversation`` column is built from offsets and flat
role/content arrays instead of a list of dicts per row.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from lake.schemas import PAIRS, TURN


class Columns:
    """Append-only column lists."""

    def __init__(self) -> None:
        self.data: dict[str, list[Any]] = {}
        self.n = 0
        self.offsets: list[int] = [0]
        self.roles: list[str] = []
        self.contents: list[str] = []

    def __len__(self) -> int:
        return self.n

    def add(self, **row: Any) -> None:
        if not self.data:
            self.data = {k: [] for k in row}
        for k, v in row.items():
            self.data[k].append(v)
        self.n += 1

    def add_pair(self, pid: str, prompt_id: str, pairset_id: str, p: Any, details: str | None, source: str,
                 fname: str) -> None:  # fmt: skip
        self.add(
            pair_id=pid, prompt_id=prompt_id, pairset_id=pairset_id, chosen=p.chosen, rejected=p.rejected,
            is_tie=p.is_tie, category=p.category, label_origin=p.label_origin, label_details=details,
            source=source, source_file=fname, source_row=p.source_row,
        )  # fmt: skip
        for t in p.conversation:
            self.roles.append(t["role"])
            self.contents.append(t["content"])
        self.offsets.append(len(self.roles))


def pairs_batch(cols: Columns, run: Any) -> pa.RecordBatch:
    turns = pa.StructArray.from_arrays(
        [pa.array(cols.roles, pa.string()), pa.array(cols.contents, pa.string())], fields=list(TURN)
    )
    conversation = pa.ListArray.from_arrays(
        pa.array(cols.offsets, pa.int32()), turns, type=PAIRS.field("conversation").type
    )
    arrays = []
    for f in PAIRS:
        if f.name == "conversation":
            arrays.append(conversation)
        elif f.name == "ingest_batch_id":
            arrays.append(pa.array([run.batch_id] * cols.n, f.type))
        elif f.name == "ingested_at":
            arrays.append(pa.array([run.now] * cols.n, f.type))
        else:
            arrays.append(pa.array(cols.data[f.name], f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=PAIRS)


def small_table(cols: Columns, schema: pa.Schema) -> pa.Table:
    if not cols.n:
        return schema.empty_table()
    return pa.Table.from_arrays([pa.array(cols.data[f.name], f.type) for f in schema], schema=schema)
