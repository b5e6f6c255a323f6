"""Column-wise fast path for flat JSONL files (``prompt`` / ``chosen`` / ``rejected`` strings).

The row path (:func:`pipelines.ingest.flat.read_flat`) builds a dict, a conversation and
three id keys per row in Python. For the common flat layout this module does the same work
on whole parsed blocks with ``pyarrow.compute`` and polars, giving the same results:

- **normalisation** (:func:`lake.ids.normalize_text`): only values with whitespace at an end,
  a ``\\r``, or non-ASCII text that is not NFC go through ``normalize_text`` in Python
  (:func:`normalise`), and are put back with a mask.
- **the checks** that reject a row (null field, empty text, identical responses) are masks;
  a row that fails one is handed to the row path itself (:func:`flat_item`), so its
  quarantine reason and detail are the row path's by construction.
- **the ids**: the keys that :mod:`lake.ids` hashes (for one user turn
  ``"pair\\n1 2 4 |P| |C| |R|\\nuser" + P + C + R`` and the prompt/pairset variants) are built
  as string columns and hashed with SHA-256 by polars and ``polars-hash`` (Rust, on polars'
  thread pool): no Python work per row.

A block is taken column-wise only when its parsed columns are strings (``prompt``,
``chosen``, ``rejected``; optional ``subset``/``category``/``source`` for the category) and it
has none of the ``label_details`` keys; any other block goes row by row, as before.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from unicodedata import is_normalized

import numpy as np
import polars as pl
import polars_hash as plh
import pyarrow as pa
import pyarrow.compute as pc

from lake.ids import normalize_text
from pipelines.ingest import sources
from pipelines.ingest.flat import DETAIL_KEYS, flat_item
from pipelines.ingest.model import FileFault, RawPair, Rejected
from pipelines.ingest.nfcscan import nfc_suspects

TEXT_COLUMNS = ("prompt", "chosen", "rejected")
CATEGORY_COLUMNS = ("subset", "category", "source")  # read_flat: subset or category or source
_ASCII_WS = "\t\n\x0b\x0c\r \x1c\x1d\x1e\x1f"  # the ASCII characters for which str.isspace() is true
# every character for which str.isspace() is true (tested against Python)
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


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

    @property
    def n_rows(self) -> int:
        return len(self.pair_ids) + len(self.others)


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


def _patch(arr: pa.Array, mask: pa.Array, fn: Callable[[str], str]) -> pa.Array:
    """``arr`` with ``fn`` applied (in Python) to the rows where ``mask`` is true."""
    if not pc.any(mask).as_py():
        return arr
    values = [fn(s) for s in arr.filter(mask).to_pylist()]
    return pc.replace_with_mask(arr, mask, pa.array(values, pa.string()))


def _prompt_text(s: str) -> str:
    return normalize_text(s.strip())  # user_prompt() strips, make_pair() normalises


_IS_ASCII_WS = np.zeros(256, dtype=bool)
_IS_ASCII_WS[[ord(c) for c in _ASCII_WS]] = True
# the UTF-8 codes (2 or 3 bytes, read big-endian) of the non-ASCII characters in PY_WHITESPACE
_WS_CODES = {
    n: np.array([int.from_bytes(e, "big") for c in PY_WHITESPACE if len(e := c.encode()) == n], dtype=np.int64)
    for n in (2, 3)
}
assert sum(len(v) for v in _WS_CODES.values()) == sum(ord(c) >= 128 for c in PY_WHITESPACE)


def _utf8_codes(data: np.ndarray, at: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` bytes of ``data`` from each position in ``at``, as one big-endian integer."""
    out = np.zeros(len(at), dtype=np.int64)
    for k in range(n):
        out = (out << 8) | data[np.minimum(at + k, len(data) - 1)]
    return out


def may_change(arr: pa.Array) -> np.ndarray:
    """Rows whose text ``str.strip`` or the ``\\r`` rule may change (bool; nulls are False).

    Read straight from the string buffers: a Python whitespace character at either end, or a
    ``\\r`` anywhere. Only each value's first and last bytes and one scan for ``\\r`` are read.
    """
    arr = arr.cast(pa.string()) if not pa.types.is_string(arr.type) else arr
    out = np.zeros(len(arr), dtype=bool)
    _, offsets_buf, data_buf = arr.buffers()
    if data_buf is None or not len(arr):
        return out
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1].astype(np.int64)
    data = np.frombuffer(data_buf, dtype=np.uint8)
    rows = np.flatnonzero(offsets[1:] > offsets[:-1])
    starts, ends = offsets[rows], offsets[rows + 1]
    first, last = data[starts], data[ends - 1]
    flag = _IS_ASCII_WS[first] | _IS_ASCII_WS[last]
    for at_start, high in ((True, first >= 0x80), (False, last >= 0x80)):
        sub = np.flatnonzero(high)  # a multi-byte character at this end: is it whitespace?
        for n, codes in _WS_CODES.items():
            pos = starts[sub] if at_start else ends[sub] - n
            fits = ends[sub] - starts[sub] >= n
            flag[sub] |= fits & np.isin(_utf8_codes(data, pos, n), codes)
    out[rows] = flag
    carriage = np.flatnonzero(data[offsets[0] : offsets[-1]] == 13) + offsets[0]
    if len(carriage):
        out[np.searchsorted(offsets, carriage, side="right") - 1] = True
    if arr.null_count:
        out &= arr.is_valid().to_numpy(zero_copy_only=False)
    return out


def normalise(arr: pa.Array, fn: Callable[[str], str] = normalize_text) -> pa.Array:
    """normalize_text over a string array; nulls stay null.

    Only values that ``fn`` may change go through it: those with Python whitespace
    (``str.isspace``: Unicode's White_Space plus ``\\x1c``-``\\x1f``) at an end, a ``\\r``
    (:func:`may_change`), or non-ASCII text that is not already NFC (``unicodedata.is_normalized``,
    asked only of the values :func:`nfcscan.nfc_suspects` cannot clear from their bytes).
    """
    changes = may_change(arr)
    suspects = nfc_suspects(arr)
    if len(suspects):
        values = arr.take(pa.array(suspects)).to_pylist()
        changes[suspects[[not is_normalized("NFC", v) for v in values]]] = True
    return _patch(arr, pa.array(changes), fn)


def id_keys(prompt: pa.Array, chosen: pa.Array, rejected: pa.Array) -> pl.DataFrame:
    """The keys that :mod:`lake.ids` hashes, as string columns ``pair``, ``prompt``, ``pairset``."""
    p, c, r = pl.col("p"), pl.col("c"), pl.col("r")
    n = {k: pl.col(k).str.len_bytes().cast(pl.String) for k in ("p", "c", "r")}
    in_order = c <= r  # byte order = Python's str order
    lo, hi = pl.when(in_order).then(c).otherwise(r), pl.when(in_order).then(r).otherwise(c)
    sp, user = pl.lit(" "), pl.lit("\nuser")
    n_lo, n_hi = lo.str.len_bytes().cast(pl.String), hi.str.len_bytes().cast(pl.String)
    return pl.from_arrow(pa.table({"p": prompt, "c": chosen, "r": rejected})).select(  # type: ignore[union-attr]
        pair=pl.concat_str([pl.lit("pair\n1 2 4 "), n["p"], sp, n["c"], sp, n["r"], user, p, c, r]),
        prompt=pl.concat_str([pl.lit("prompt\n1 0 4 "), n["p"], user, p]),
        pairset=pl.concat_str([pl.lit("pairset\n1 2 4 "), n["p"], sp, n_lo, sp, n_hi, user, p, lo, hi]),
    )


def ids(prompt: pa.Array, chosen: pa.Array, rejected: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(pair_ids, prompt_ids, pairset_ids) of normalised columns, as :mod:`lake.ids` computes them."""
    keys = id_keys(prompt, chosen, rejected)
    out = keys.select(plh.col(k).chash.sha2_256().str.slice(0, 32) for k in ("pair", "prompt", "pairset"))
    pair_ids, prompt_ids, pairset_ids = (out[k].to_arrow().cast(pa.string()) for k in ("pair", "prompt", "pairset"))
    return pair_ids, prompt_ids, pairset_ids


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
    pair_ids, prompt_ids, pairset_ids = ids(prompt, chosen, rejected)
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
    )


def _row_path(table: pa.Table, rows: np.ndarray, label_origin: str | None) -> list[Rejected]:
    out = []
    for i, row in zip(rows.tolist(), sources.table_rows(table), strict=True):
        item = flat_item(i, row, label_origin)
        if isinstance(item, RawPair):  # cannot happen: the masks above are exactly the row path's checks
            raise AssertionError(f"fast path: row {i} was set aside but the row path accepts it")
        out.append(item)
    return out


def _block_items(
    block: bytes | memoryview | Rejected, start: int, label_origin: str | None
) -> list[FlatBlock | RawPair | Rejected]:
    """Everything one block of lines yields (run in a worker process when there is a pool)."""
    if isinstance(block, Rejected):  # the file's fault, after its last whole line
        return [block]
    table = sources.parse_block_table(block)
    fast = None if table is None else flat_block(table, start, label_origin)
    if fast is not None:
        return [fast]
    if table is None:
        return [flat_item(i, row, label_origin) for i, row in sources.parse_lines(block, start)]
    return [flat_item(start + i, row, label_origin) for i, row in enumerate(sources.table_rows(table))]


def _numbered_blocks(
    path: Path, block_bytes: int, mapped: bool = False
) -> Iterator[tuple[bytes | memoryview | Rejected, int]]:
    """Blocks of whole lines and the row index of each one's first line.

    ``mapped``: views of a memory map instead of copies read from the file (an uncompressed
    file, blocks handled in this process); reading and counting then hold the GIL for
    almost nothing, where copying 1 GB of blocks held it about 0.9 s. A ``.gz`` that ends at a
    fault ends with its fault row (:class:`Rejected`) in place of a block, as the row path does.
    """
    start = 0
    if mapped and not path.name.endswith(".gz"):
        for view in sources.mapped_line_blocks(path, block_bytes):
            yield view, start
            start += sources.count_newlines(view)
        return
    try:
        with sources.open_binary(path) as fh:
            for block in sources.line_blocks(fh, block_bytes):
                yield block, start
                start += block.count(b"\n")
    except FileFault as fault:
        yield fault.rejected(start, line=start + 1), start


# Block threads in one process. pyarrow, numpy and polars run without the GIL but each block
# also has Python steps (the NFC check, small Arrow calls) that hold it; with one thread the
# cores idled during those. Measured at 1M pairs on 2 cores: 1 thread 8.2-8.6 s, 2 threads
# 7.7-7.9 s, 3 threads 7.0-7.4 s, 4 threads 7.4 s (docs/ingest.md).
BLOCK_THREADS = 3


def _threaded(
    blocks: Iterator[tuple[bytes | memoryview, int]], label_origin: str | None, threads: int = BLOCK_THREADS
) -> Iterator:
    """The items of each block, worked out on ``threads`` threads, in file order.

    The parse, the masks and the hashing run in pyarrow, numpy and polars without the GIL, so
    the next blocks are prepared while the consumer dedups this one and Lance encodes and
    writes. At most ``threads + 1`` blocks are in flight (bounded memory).
    """
    from concurrent.futures import ThreadPoolExecutor

    ahead = threads + 1
    with ThreadPoolExecutor(threads, thread_name_prefix="prefhouse-block") as pool:
        pending: deque = deque()
        try:
            for block, start in blocks:
                if len(pending) >= ahead:
                    yield from pending.popleft().result()
                pending.append(pool.submit(_block_items, block, start, label_origin))
            while pending:
                yield from pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()


def _worker_init() -> None:
    pa.set_cpu_count(1)  # one process per core: no thread pool on top


def iter_flat(
    path: Path, label_origin: str | None = "unknown", block_bytes: int | None = None, workers: int = 1
) -> Iterator[FlatBlock | RawPair | Rejected]:
    """Like ``read_flat(path)``, but plain blocks come out as one :class:`FlatBlock` each.

    With ``workers > 1``, blocks are also handled by ``workers - 1`` spawned processes (Lance
    is not fork-safe): this process takes a block itself whenever the oldest one sent out is
    not back yet (so no core idles while the workers start), at most ``2 * workers`` blocks
    ahead of the consumer; blocks are yielded in file order.
    """
    blocks = _numbered_blocks(path, block_bytes or sources.BLOCK_BYTES, mapped=workers <= 1)
    if workers <= 1:
        yield from _threaded(blocks, label_origin)
        return
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    def result(item: Future | list) -> list:
        return item.result() if isinstance(item, Future) else item

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers - 1, mp_context=ctx, initializer=_worker_init) as pool:
        pending: deque[Future | list] = deque()
        try:
            for block, start in blocks:
                if len(pending) >= 2 * workers:
                    yield from result(pending.popleft())
                busy = any(isinstance(f, Future) and not f.done() for f in pending)
                if busy and sum(isinstance(f, Future) for f in pending) >= workers - 1:
                    pending.append(_block_items(block, start, label_origin))  # do it here meanwhile
                else:
                    pending.append(pool.submit(_block_items, block, start, label_origin))
            while pending:
                yield from result(pending.popleft())
        finally:
            for f in pending:
                if isinstance(f, Future):
                    f.cancel()
