"""Column-wise fast path for flat JSONL files (``prompt`` / ``chosen`` / ``rejected`` strings).

The row path (:func:`pipelines.ingest.flat.read_flat`) builds a dict, a conversation and
three canonical JSON strings per row in Python. For the common flat layout this module does
the same work on whole parsed blocks with ``pyarrow.compute``, giving the same results:

- **normalisation** (:func:`lake.ids.normalize_text`): a value that is ASCII, has no ``\\r``
  and no whitespace at either end is already normal; only the other values (non-ASCII ones
  need NFC) go through ``normalize_text`` in Python, and are put back with a mask.
- **the checks** that reject a row (null field, empty text, identical responses) are masks;
  a row that fails one is handed to the row path itself (:func:`flat_item`), so its
  quarantine reason and detail are the row path's by construction.
- **the ids**: the canonical JSON that :mod:`lake.ids` hashes is
  ``["pair",[["user",P]],C,R]`` (and the prompt/pairset variants), where each string is
  ``json.dumps(..., ensure_ascii=False)``: quotes, backslashes, ``\\n`` and ``\\t`` are
  escaped with vectorised replaces; a value with any other control character is escaped by
  ``json``'s own C encoder. The keys are concatenated column-wise and hashed with SHA-256 in
  one tight loop over the Arrow buffer (no Python string per key).

A block is taken column-wise only when its parsed columns are strings (``prompt``,
``chosen``, ``rejected``; optional ``subset``/``category``/``source`` for the category) and it
has none of the ``label_details`` keys; any other block goes row by row, as before.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from hashlib import sha256
from json.encoder import encode_basestring as _enc  # type: ignore[attr-defined]
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lake.ids import normalize_text
from pipelines.ingest import sources
from pipelines.ingest.flat import DETAIL_KEYS, flat_item
from pipelines.ingest.model import RawPair, Rejected

TEXT_COLUMNS = ("prompt", "chosen", "rejected")
CATEGORY_COLUMNS = ("subset", "category", "source")  # read_flat: subset or category or source
_ASCII_WS = "\t\n\x0b\x0c\r \x1c\x1d\x1e\x1f"  # the ASCII characters for which str.isspace() is true
_PAIR, _PROMPT, _PAIRSET = b'["pair",[["user","', b'["prompt",[["user","', b'["pairset",[["user","'
_MID, _SEP, _END, _PROMPT_END = b'"]],"', b'","', b'"]', b'"]]]'


@dataclass
class FlatBlock:
    """The pairs of one parsed block (column-wise, in row order) and its rejected rows."""

    source_row: pa.Array  # int64 row index of each pair
    pair_ids: list[str]
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


def rows_with(arr: pa.Array, table: np.ndarray) -> pa.Array:
    """Rows of a string array holding any byte that ``table`` (a 256-entry bool table) marks.

    One numpy pass over the data buffer; the rare hits are mapped to rows by their offsets.
    """
    offsets, data = _slices(arr)
    hits = np.flatnonzero(table[np.frombuffer(data, np.uint8)[offsets[0] : offsets[-1]]]) + offsets[0]
    mask = np.zeros(len(arr), dtype=bool)
    if len(hits):
        mask[np.searchsorted(offsets, hits, side="right") - 1] = True
    return pa.array(mask)


def _byte_table(marked: bytes) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[list(marked)] = True
    return table


_CR = _byte_table(b"\r")
_OTHER_ESCAPES = _byte_table(bytes([*range(0x0A), *range(0x0B, 0x20)]) + b'\\"')  # json escapes these (and \n)


def normalise(arr: pa.Array, fn: Callable[[str], str] = normalize_text) -> pa.Array:
    """normalize_text over a string array; nulls stay null.

    A value may change only if it is not ASCII (NFC; Python's whitespace also has non-ASCII
    members), holds a ``\\r`` or has ASCII whitespace at an end: only those go through ``fn``.
    """
    trimmed = pc.utf8_trim(arr, _ASCII_WS)
    changes = pc.or_(pc.invert(pc.string_is_ascii(arr)), pc.not_equal(pc.binary_length(trimmed), pc.binary_length(arr)))
    changes = pc.or_(changes.fill_null(False), rows_with(arr, _CR))
    return _patch(arr, changes, fn)


def escaped(arr: pa.Array) -> pa.Array:
    """``json.dumps(s, ensure_ascii=False)`` without its quotes, for every string (no nulls).

    Only ``\\n`` is escaped column-wise (a quarter of the values have one); the few values
    with a quote, a backslash or another control character go through json's own encoder.
    """
    out = pc.replace_substring(arr, "\n", "\\n")
    other = rows_with(arr, _OTHER_ESCAPES)
    if pc.any(other).as_py():
        values = [_enc(s)[1:-1] for s in arr.filter(other).to_pylist()]
        out = pc.replace_with_mask(out, other, pa.array(values, pa.string()))
    return out


def _slices(arr: pa.Array) -> tuple[list[int], memoryview]:
    """The offsets and data of a string array: row i is ``data[o[i]:o[i + 1]]``."""
    _validity, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4).tolist()
    return offsets, memoryview(data_buf if data_buf is not None else b"")  # type: ignore[arg-type]


def ids(prompt: pa.Array, chosen: pa.Array, rejected: pa.Array) -> tuple[list[str], list[str], list[str]]:
    """(pair_ids, prompt_ids, pairset_ids) of normalised columns, as :mod:`lake.ids` computes them.

    Each key (e.g. ``["pair",[["user","P"]],"C","R"]``) is joined from the constant parts and
    the escaped values sliced out of the Arrow buffers: no Python string per key.
    """
    in_order = pc.less_equal(chosen, rejected).to_pylist()  # UTF-8 byte order is Python's str order
    (po, pd), (co, cd), (ro, rd) = _slices(escaped(prompt)), _slices(escaped(chosen)), _slices(escaped(rejected))
    pair, prompt_ids, pairset = [], [], []
    join = b"".join
    for i, le in enumerate(in_order):
        p, c, r = pd[po[i] : po[i + 1]], cd[co[i] : co[i + 1]], rd[ro[i] : ro[i + 1]]
        lo, hi = (c, r) if le else (r, c)
        pair.append(sha256(join((_PAIR, p, _MID, c, _SEP, r, _END))).hexdigest()[:32])
        prompt_ids.append(sha256(join((_PROMPT, p, _PROMPT_END))).hexdigest()[:32])
        pairset.append(sha256(join((_PAIRSET, p, _MID, lo, _SEP, hi, _END))).hexdigest()[:32])
    return pair, prompt_ids, pairset


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
        prompt_ids=pa.array(prompt_ids, pa.string()),
        pairset_ids=pa.array(pairset_ids, pa.string()),
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


def _block_items(block: bytes, start: int, label_origin: str | None) -> list[FlatBlock | RawPair | Rejected]:
    """Everything one block of lines yields (run in a worker process when there is a pool)."""
    table = sources.parse_block_table(block)
    fast = None if table is None else flat_block(table, start, label_origin)
    if fast is not None:
        return [fast]
    if table is None:
        return [flat_item(i, row, label_origin) for i, row in sources.parse_lines(block, start)]
    return [flat_item(start + i, row, label_origin) for i, row in enumerate(sources.table_rows(table))]


def _numbered_blocks(path: Path, block_bytes: int) -> Iterator[tuple[bytes, int]]:
    start = 0
    with sources.open_binary(path) as fh:
        for block in sources.line_blocks(fh, block_bytes):
            yield block, start
            start += block.count(b"\n")


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
    blocks = _numbered_blocks(path, block_bytes or sources.BLOCK_BYTES)
    if workers <= 1:
        for block, start in blocks:
            yield from _block_items(block, start, label_origin)
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
