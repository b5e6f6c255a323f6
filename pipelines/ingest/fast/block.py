"""One parsed block of a flat JSONL file (``prompt`` / ``chosen`` / ``rejected`` strings), column-wise.

The row path (:func:`pipelines.ingest.flat.read_flat`) builds a dict, a conversation and
three id keys per row in Python. For the common flat layout this module does the same work
on whole parsed blocks with ``pyarrow.compute`` and polars, giving the same results:

- **normalisation** (:func:`lake.ids.normalize_text`): only values with whitespace at an end,
  a ``\\r``, or non-ASCII text that is not NFC go through ``normalize_text`` in Python
  (:mod:`pipelines.ingest.fast.normalise`), and are put back with a mask.
- **the checks** that reject a row (null field, empty text, identical responses) are masks;
  a row that fails one is handed to the row path itself (:func:`flat_item`), so its
  quarantine reason and detail are the row path's by construction.
- **the ids** of :mod:`lake.ids`, built and hashed as columns (:mod:`pipelines.ingest.fast.ids`):
  no Python work per row.

A block is taken column-wise only when its parsed columns are strings (``prompt``,
``chosen``, ``rejected``; optional ``subset``/``category``/``source`` for the category) and it
has none of the ``label_details`` keys; any other block goes row by row, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lake.ids import normalize_text
from lake.records import conversations
from pipelines.ingest import sources
from pipelines.ingest.fast.ids import column_ids
from pipelines.ingest.fast.normalise import normalise
from pipelines.ingest.flat import DETAIL_KEYS, flat_item
from pipelines.ingest.model import RawPair, Rejected

TEXT_COLUMNS = ("prompt", "chosen", "rejected")
CATEGORY_COLUMNS = ("subset", "category", "source")  # read_flat: subset or category or source


@dataclass
class FlatBlock:
    """The pairs of one parsed block (column-wise, in row order) and its rejected rows."""

    source_row: pa.Array  # int64 row index of each pair
    pair_ids: pa.Array  # string
    prompt_ids: pa.Array
    pairset_ids: pa.Array
    prompt: pa.Array  # normalised, the single user turn
    chosen: pa.Array
    rejected: pa.Array
    category: pa.Array
    others: list[Rejected]  # rows the row path rejects, in row order
    label_origin: str | None = "unknown"

    @property
    def n_rows(self) -> int:
        return len(self.pair_ids) + len(self.others)

    @property
    def label_details(self) -> None:
        return None  # a block with label details goes by the row path

    def columns(self) -> dict[str, Any]:
        """The block's ``pairs`` columns (one user turn each), for :func:`lake.records.record_batch`."""
        n = len(self.pair_ids)
        offsets = np.arange(n + 1, dtype=np.int32)
        return {
            "pair_id": self.pair_ids, "prompt_id": self.prompt_ids, "pairset_id": self.pairset_ids,
            "conversation": conversations(offsets, pa.repeat(pa.scalar("user"), n), self.prompt),
            "chosen": self.chosen, "rejected": self.rejected, "is_tie": False, "category": self.category,
            "label_origin": self.label_origin, "label_details": None, "source_row": self.source_row,
        }  # fmt: skip


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def eligible(table: pa.Table) -> bool:
    """Whether a parsed block has the plain flat layout the fast path covers."""
    schema = table.schema
    for name in TEXT_COLUMNS:
        if schema.get_field_index(name) < 0 or not _is_text(schema.field(name).type):
            return False
    for name in CATEGORY_COLUMNS:
        i = schema.get_field_index(name)
        if i >= 0 and not (_is_text(schema.field(i).type) or pa.types.is_null(schema.field(i).type)):
            return False
    return all(
        schema.get_field_index(k) < 0 or pa.types.is_null(schema.field(k).type) for k in DETAIL_KEYS
    )  # label details: row path


def _column(table: pa.Table, name: str) -> pa.Array:
    col = table.column(name).combine_chunks()
    return col.cast(pa.string()) if not pa.types.is_string(col.type) else col


def _prompt_text(s: str) -> str:
    return normalize_text(s.strip())  # user_prompt() strips, make_pair() normalises


def _category(table: pa.Table) -> pa.Array:
    """``row.get("subset") or row.get("category") or row.get("source")``, column-wise."""
    n, out = table.num_rows, None
    present = [c for c in CATEGORY_COLUMNS if c in table.column_names]
    for name in reversed(CATEGORY_COLUMNS):  # built from the last alternative outwards
        col = _column(table, name) if name in present else pa.nulls(n, pa.string())
        if out is None:
            out = col  # the last operand of ``or`` is returned as is, even when empty
        else:
            out = pc.if_else(pc.and_(pc.is_valid(col), pc.not_equal(col, "")).fill_null(False), col, out)
    return out  # type: ignore[return-value]


def _valid_nonempty(arr: pa.Array) -> pa.Array:
    return pc.greater(pc.binary_length(arr), 0).fill_null(False)


def flat_block(table: pa.Table, start: int, label_origin: str | None) -> FlatBlock | None:
    """The column-wise result of one parsed block, or None when the block needs the row path."""
    if not eligible(table):
        return None
    prompt = normalise(_column(table, "prompt"), _prompt_text)
    chosen, rejected = normalise(_column(table, "chosen")), normalise(_column(table, "rejected"))
    ok = pc.and_(pc.and_(_valid_nonempty(prompt), _valid_nonempty(chosen)), _valid_nonempty(rejected))
    ok = pc.and_(ok, pc.not_equal(chosen, rejected).fill_null(False))
    ok_np = ok.to_numpy(zero_copy_only=False)
    bad = np.flatnonzero(~ok_np)
    others = _row_path(table.take(bad), start + bad, label_origin) if len(bad) else []
    category = _category(table)
    rows = np.arange(start, start + table.num_rows, dtype=np.int64)
    if len(bad):
        keep = pa.array(np.flatnonzero(ok_np))
        prompt, chosen, rejected, category = (a.take(keep) for a in (prompt, chosen, rejected, category))
        rows = rows[ok_np]
    pair_ids, prompt_ids, pairset_ids = column_ids([("user", prompt)], chosen, rejected)
    return FlatBlock(
        source_row=pa.array(rows, pa.int64()),
        pair_ids=pair_ids,
        prompt_ids=prompt_ids,
        pairset_ids=pairset_ids,
        prompt=prompt,
        chosen=chosen,
        rejected=rejected,
        category=category,
        others=others,
        label_origin=label_origin,
    )


def _row_path(table: pa.Table, rows: np.ndarray, label_origin: str | None) -> list[Rejected]:
    out = []
    for i, row in zip(rows.tolist(), sources.table_rows(table), strict=True):
        item = flat_item(i, row, label_origin)
        if isinstance(item, RawPair):  # cannot happen: the masks above are exactly the row path's checks
            raise AssertionError(f"fast path: row {i} was set aside but the row path accepts it")
        out.append(item)
    return out
