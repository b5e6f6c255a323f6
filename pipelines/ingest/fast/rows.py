"""Arrow rows of ``pairs`` and ``pair_sources`` from a :class:`FlatBlock` (the fast path's writer side).

The writer decides per pair whether it is new (the known ``pair_id`` set) and whether its
sighting is new; these helpers turn the block's columns and those two masks into the
same rows the row path builds one by one in :mod:`pipelines.ingest.batches`.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa

from lake.schemas import PAIR_SOURCES, PAIRS, TURN
from pipelines.ingest.fast.block import FlatBlock


def _const(value: object, n: int, type_: pa.DataType) -> pa.Array:
    return pa.repeat(pa.scalar(value, type_), n)


def _keep(batch: pa.RecordBatch | pa.Table, mask: np.ndarray | list[bool]) -> pa.RecordBatch | pa.Table:
    return batch if bool(np.all(mask)) else batch.filter(pa.array(mask, pa.bool_()))


def pairs_rows(blk: FlatBlock, is_new: np.ndarray, meta: dict[str, object], now: datetime) -> pa.RecordBatch:
    """The new pairs of a block (one user turn each), in row order."""
    n = len(blk.pair_ids)
    turns = pa.StructArray.from_arrays([_const("user", n, pa.string()), blk.prompt], fields=list(TURN))
    offsets = pa.array(np.arange(n + 1, dtype=np.int32))
    columns = {
        "pair_id": blk.pair_ids, "prompt_id": blk.prompt_ids, "pairset_id": blk.pairset_ids,
        "conversation": pa.ListArray.from_arrays(offsets, turns, type=PAIRS.field("conversation").type),
        "chosen": blk.chosen, "rejected": blk.rejected, "is_tie": _const(False, n, pa.bool_()),
        "category": blk.category, "label_details": pa.nulls(n, pa.string()), "source_row": blk.source_row,
        "ingested_at": _const(now, n, PAIRS.field("ingested_at").type),
    }  # fmt: skip
    for name, value in meta.items():  # label_origin, source, source_file, ingest_batch_id
        columns[name] = _const(value, n, PAIRS.field(name).type)
    batch = pa.RecordBatch.from_arrays([columns[f.name] for f in PAIRS], schema=PAIRS)
    return _keep(batch, is_new)  # type: ignore[return-value]


def sighting_rows(
    blk: FlatBlock, is_new: np.ndarray, is_new_sighting: np.ndarray | list[bool], meta: dict[str, object], now: datetime
) -> pa.Table:
    """The new sightings of a block's pairs (``is_first_sighting`` = the pair is new to the lake)."""
    n = len(blk.pair_ids)
    columns = {
        "pair_id": blk.pair_ids, "source_row": blk.source_row,
        "is_first_sighting": pa.array(is_new, pa.bool_()), "label_details": pa.nulls(n, pa.string()),
        "ingested_at": _const(now, n, PAIR_SOURCES.field("ingested_at").type),
    }  # fmt: skip
    for name in ("source", "source_file", "ingest_batch_id"):
        columns[name] = _const(meta[name], n, PAIR_SOURCES.field(name).type)
    table = pa.Table.from_arrays([columns[f.name] for f in PAIR_SOURCES], schema=PAIR_SOURCES)
    return _keep(table, is_new_sighting)  # type: ignore[return-value]
