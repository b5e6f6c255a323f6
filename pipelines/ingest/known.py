"""The set of ids an ingest has seen, 16 bytes an id, checked a block at a time.

Every id in the lake (``pair_id``, ``prompt_id``) is the first 128 bits of a SHA-256 digest as
32 hex characters. As Python strings in a ``set`` they cost about 110 bytes each (4.4 GB for the
40M pairs of a large curation run, all loaded before a small ingest into that lake could start).
Here an id is two ``uint64`` words, kept in numpy arrays sorted by the first word ("levels",
as in an LSM tree):

- the ids already in the lake are read column-wise into one level;
- the new ids of each column-wise block become a level, and levels of similar size are merged,
  so there are O(log n) of them and each id is moved O(log n) times;
- the row path adds ids one at a time into a small ``set``, folded into a level when it grows.

Membership is exact: two ids are equal exactly when both words are. :func:`known_ids` and
:func:`known_keys` read what the lake already holds, for the writers.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from lake import Lake

ID_CHARS = 32
FOLD_ROWS = 1 << 16  # row-path ids kept as Python strings before they are folded into a level

_NIBBLE = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _NIBBLE[_c] = _i

Words = tuple[np.ndarray, np.ndarray]


def id_words(ids: pa.Array | pa.ChunkedArray) -> Words:
    """(hi, lo) uint64 words of ids written as 32 lower-case hex characters."""
    arr = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    arr = arr.cast(pa.string()) if not pa.types.is_string(arr.type) else arr
    n = len(arr)
    if not n:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    if arr.null_count or pc.any(pc.not_equal(pc.binary_length(arr), ID_CHARS)).as_py():
        raise ValueError(f"ids must be {ID_CHARS} hex characters, none null")
    _, offsets_buf, data_buf = arr.buffers()
    start = int(np.frombuffer(offsets_buf, np.int32)[arr.offset])
    nibbles = _NIBBLE[np.frombuffer(data_buf, np.uint8)[start : start + n * ID_CHARS].reshape(n, ID_CHARS)]
    if (nibbles == 255).any():
        raise ValueError("ids must be lower-case hex")
    packed = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]  # the 16 bytes of each id
    words = packed.view(">u8").astype(np.uint64)  # two big-endian words per row
    return words[:, 0].copy(), words[:, 1].copy()


def _sorted(hi: np.ndarray, lo: np.ndarray) -> Words:
    """Sorted by the first word only: ids that share it are compared as a run (see _in_level).

    A stable sort is timsort, which merges two concatenated sorted levels in linear time.
    """
    order = np.argsort(hi, kind="stable")
    return hi[order], lo[order]


def _in_level(level: Words, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Which (hi, lo) are in a level (bool array); ``hi`` sorted makes the searches cache-friendly."""
    h, low = level
    if not len(h):
        return np.zeros(len(hi), dtype=bool)
    first = np.searchsorted(h, hi, side="left")
    at = np.minimum(first, len(h) - 1)
    same = (first < len(h)) & (h[at] == hi)
    out = same & (low[at] == lo)
    for k in np.flatnonzero(same & ~out):  # another id shares the first word: look along its run (rare)
        j = int(first[k]) + 1
        while j < len(h) and h[j] == hi[k]:
            if low[j] == lo[k]:
                out[k] = True
                break
            j += 1
    return out


class KnownIds:
    """A growing set of 128-bit hex ids (see the module docstring)."""

    def __init__(self, batches: Iterable[pa.Array | pa.ChunkedArray] = ()) -> None:
        parts = [id_words(b) for b in batches]
        self.levels: list[Words] = []
        if parts and sum(len(h) for h, _ in parts):
            self.levels.append(_sorted(np.concatenate([h for h, _ in parts]), np.concatenate([lo for _, lo in parts])))
        self.recent: set[str] = set()

    def __len__(self) -> int:
        return sum(len(h) for h, _ in self.levels) + len(self.recent)

    def __contains__(self, pid: str) -> bool:
        if pid in self.recent:
            return True
        if len(pid) != ID_CHARS:
            raise ValueError(f"ids must be {ID_CHARS} hex characters, got {pid!r}")
        hi, lo = np.uint64(int(pid[:16], 16)), np.uint64(int(pid[16:], 16))
        for h, low in self.levels:  # one id at a time (the row path): scalar searches, no arrays
            first, last = h.searchsorted(hi, side="left"), h.searchsorted(hi, side="right")
            if first < last and bool((low[first:last] == lo).any()):
                return True
        return False

    def add(self, pid: str) -> None:
        """Add one id (the caller checked it is new)."""
        self.recent.add(pid)
        if len(self.recent) >= FOLD_ROWS:
            self._fold()

    def mark_new(self, ids: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """For each id, whether it is new (not known, not earlier in ``ids``); the new ones become known."""
        self._fold()
        hi, lo = id_words(ids)
        new = np.array(pl.Series(values=ids).is_first_distinct().to_numpy(), dtype=bool)  # a writable copy
        order = np.argsort(hi, kind="stable")
        candidates = order[new[order]]  # first occurrences, by first word
        for level in self.levels:
            if not len(candidates):
                break
            candidates = candidates[~_in_level(level, hi[candidates], lo[candidates])]
        new[:] = False
        new[candidates] = True
        if len(candidates):
            self._push((hi[candidates], lo[candidates]))  # already sorted by the first word
        return new

    def _fold(self) -> None:
        if self.recent:
            self._push(_sorted(*id_words(pa.array(sorted(self.recent), pa.string()))))
            self.recent = set()

    def _push(self, level: Words) -> None:
        self.levels.append(level)
        while len(self.levels) > 1 and len(self.levels[-2][0]) <= 2 * len(self.levels[-1][0]):
            (h1, l1), (h2, l2) = self.levels.pop(), self.levels.pop()
            self.levels.append(_sorted(np.concatenate([h2, h1]), np.concatenate([l2, l1])))


def known_ids(lake: Lake, table: str, column: str, benchmark: str | None = None) -> KnownIds:
    """Every ``column`` id of ``table`` (of one benchmark's rows when given), read batch by batch."""
    if not lake.exists(table):
        return KnownIds()
    ds = lake.dataset(table)
    flt = None if benchmark is None else pc.field("benchmark") == benchmark
    return KnownIds(b.column(column) for b in ds.to_batches(columns=[column], filter=flt))


def known_keys(lake: Lake, table: str, columns: list[str], files: list[str]) -> set[tuple]:
    """Existing key tuples of ``table`` for the given source files (sightings, quarantine rows)."""
    if not lake.exists(table):
        return set()
    ds = lake.dataset(table)
    if ds.count_rows() == 0:
        return set()
    t = ds.to_table(columns=columns, filter=pc.field("source_file").isin(files))
    return set(zip(*(t.column(c).to_pylist() for c in columns), strict=True))
