"""A large frame's rows found by key, batch after batch, without a hash table built per batch.

The embedding stages stream pairs in batches and, for each batch, look up the pairs' attributes
and the vectors already stored: two frames as large as the pool. A polars join of a batch with
such a frame hashes the whole frame on every call (about 0.1 s a batch at 1M rows, 0.6 s at 4M,
measured), so a pass over the pool costs batches x pool: quadratic. :class:`KeyIndex` sorts the
frame by its key once and finds each batch's keys by binary search (``Series.search_sorted``),
about 2 ms for 512 keys at 4M rows; a pass costs pool x log(pool).

A key is expected once in the frame (attributes: the latest row per pair; stored vectors: one row
per key and model); where it is not, a lookup sees its first row in sort order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl


class KeyIndex:
    """``frame`` sorted by ``key``, for left lookups and (anti-)membership tests of small batches."""

    def __init__(self, frame: pl.DataFrame, key: str) -> None:
        self.key = key
        self.frame = frame.sort(key, nulls_last=True)
        self._keys = self.frame.get_column(key)

    def __len__(self) -> int:
        return self.frame.height

    def positions(self, keys: pl.Series) -> pl.Series:
        """For each of ``keys``, the row of :attr:`frame` holding it, or null."""
        n = self.frame.height
        if n == 0 or keys.is_empty():
            return pl.Series("row", [None] * len(keys), pl.UInt32)
        found = self._keys.search_sorted(keys.cast(self._keys.dtype), side="left")
        row = pl.Series("row", np.minimum(found.to_numpy(), n - 1), pl.UInt32)
        hit = (self._keys.gather(row) == keys).fill_null(False)
        return row.zip_with(hit, pl.Series("row", [None] * len(keys), pl.UInt32))

    def lookup(self, keys: pl.Series, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """The rows of ``keys`` in their order (``columns``, default all but the key); nulls where absent."""
        wanted = [c for c in (columns or self.frame.columns) if c != self.key]
        rows = self.positions(keys)
        return self.frame.select(pl.col(wanted).gather(rows))

    def holds(self, frame: pl.DataFrame, on: Sequence[str]) -> np.ndarray:
        """Per row of ``frame``: whether the index has a row with equal values on ``on`` (the key first)."""
        if on[0] != self.key:
            raise ValueError(f"the first column of `on` must be the index key {self.key!r}, got {on[0]!r}")
        rows = self.positions(frame.get_column(self.key))
        hit = rows.is_not_null()
        for column in on[1:]:
            hit = hit & (self.frame.get_column(column).gather(rows) == frame.get_column(column)).fill_null(False)
        return hit.to_numpy()

    def anti(self, frame: pl.DataFrame, on: Sequence[str]) -> pl.DataFrame:
        """The rows of ``frame`` the index does not hold (an anti join on ``on``)."""
        return frame.filter(~self.holds(frame, on)) if len(self) else frame

    def semi(self, frame: pl.DataFrame, on: Sequence[str]) -> pl.DataFrame:
        """The rows of ``frame`` the index holds (a semi join on ``on``)."""
        return frame.filter(self.holds(frame, on)) if len(self) else frame.clear()
