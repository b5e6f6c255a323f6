"""Stream raw rows out of files: JSONL (optionally gzip), JSON, CSV and Parquet.

Each generator yields ``(row_index, row)`` where ``row`` is a dict, or a
:class:`Rejected` for a row that does not parse. JSONL and Parquet stream in
blocks and never hold the whole file: a JSONL block is parsed by pyarrow (fast,
multi-threaded) and, only if that fails (a malformed line, mixed types), line by
line with :mod:`json` so that one bad line is quarantined and the rest is kept.
A ``.json`` file (an array, or an object of arrays) is small by nature and is
loaded whole.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import mmap
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.json as pajson

from pipelines.ingest.model import Rejected, reject

BLOCK_BYTES = 8 << 20  # JSONL is parsed in blocks of about this size
Row = tuple[int, dict[str, Any] | Rejected]


PARSE_BLOCK_BYTES = 1 << 20


def open_binary(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def suffix(path: Path) -> str:
    """The format-relevant extension: ``.jsonl`` for ``x.jsonl.gz``."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return Path(name).suffix


def line_blocks(fh: IO[bytes], size: int) -> Iterator[bytes]:
    """Chunks of whole lines."""
    rest = b""
    while True:
        chunk = fh.read(size)
        if not chunk:
            break
        chunk = rest + chunk
        cut = chunk.rfind(b"\n")
        if cut < 0:
            rest = chunk
            continue
        rest = chunk[cut + 1 :]
        yield chunk[: cut + 1]
    if rest:
        yield rest if rest.endswith(b"\n") else rest + b"\n"


def mapped_line_blocks(path: Path, size: int, lag: int = 8) -> Iterator[bytes | memoryview]:
    """Like :func:`line_blocks` for an uncompressed file, as views of a memory map (no copies).

    The cuts are :func:`line_blocks`' (so a file gives the same blocks either way), and every
    block ends with a newline: a last line without one comes as a copy with one added.
    The views stay valid while anything holds them (the map closes when the last one goes).
    Pages more than ``lag`` blocks behind are released from this process (``MADV_DONTNEED``;
    a view still read there faults them back in from the page cache), so the resident size
    stays bounded however large the file is.
    """
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    view, n = memoryview(mm), len(mm)
    pos = read_end = released = 0
    while read_end < n:  # the same cuts as line_blocks: the last newline of each size-byte read
        read_end = min(read_end + size, n)
        cut = mm.rfind(b"\n", pos, read_end)
        if cut < 0:
            continue  # a line longer than a block: read on
        yield view[pos : cut + 1]
        pos = cut + 1
        behind = (pos - lag * size) // mmap.PAGESIZE * mmap.PAGESIZE
        if behind > released and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            mm.madvise(mmap.MADV_DONTNEED, released, behind - released)
            released = behind
    if pos < n:
        yield bytes(view[pos:n]) + b"\n"


def count_newlines(block: bytes | memoryview) -> int:
    """``block.count(b"\n")`` for views too; numpy, mostly without the GIL."""
    return int(np.count_nonzero(np.frombuffer(block, np.uint8) == 10))


def _scan_lines(block: bytes | memoryview) -> tuple[int, bool]:
    """(line count, whether a line is empty or only ``\\r``) of a block ending with a newline.

    One vectorised pass (three ``bytes`` scans cost four times as much on large blocks).
    """
    a = np.frombuffer(block, np.uint8)
    newlines = np.flatnonzero(a == 10)
    if not len(newlines):
        return 0, False
    if newlines[0] == 0 or bool((np.diff(newlines) == 1).any()):
        return len(newlines), True
    after = newlines[:-1] + 1  # first byte of every line but the first
    cr_only = (a[after] == 13) & (a[np.minimum(after + 1, len(a) - 1)] == 10)
    return len(newlines), bool(cr_only.any())


def parse_block_table(block: bytes | memoryview) -> pa.Table | None:
    """Parse a block with pyarrow; None when it must go line by line (so positions stay exact)."""
    n_lines, blank = _scan_lines(block)
    if blank:
        return None  # blank lines: pyarrow would skip them and shift row positions
    # 1 MiB parse blocks: pyarrow parses them on its thread pool (a row longer than that raises
    # ArrowInvalid, and the block then goes line by line: slower, still exact)
    options = pajson.ReadOptions(block_size=min(len(block) + 1, PARSE_BLOCK_BYTES))
    try:
        table = pajson.read_json(pa.BufferReader(pa.py_buffer(block)), read_options=options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if table.num_rows != n_lines or "timestamp" in str(table.schema):
        return None  # pyarrow turns ISO-date strings into timestamps: keep the text exact instead
    return table


def table_rows(table: pa.Table) -> list[dict[str, Any]]:
    """The rows of a parsed block as dicts (every column in every row, null where a key was absent)."""
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    names = list(columns)
    # pyarrow fills keys missing in some rows with null; that matches dict.get() for readers.
    return [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def parse_lines(block: bytes | memoryview, start: int) -> Iterator[Row]:
    for i, line in enumerate(bytes(block).split(b"\n")[:-1]):
        try:
            row = json.loads(line)
        except ValueError as exc:
            yield start + i, reject(start + i, "unparseable", f"invalid JSON: {exc}", line)
            continue
        if not isinstance(row, dict):
            yield start + i, reject(start + i, "unparseable", f"a JSON {type(row).__name__}, not an object", line)
            continue
        yield start + i, row


def iter_jsonl(path: Path, block_bytes: int | None = None) -> Iterator[Row]:
    """Rows of a JSON-lines file (``.gz`` decompressed on the fly); row index = line number."""
    start = 0
    with open_binary(path) as fh:
        for block in line_blocks(fh, block_bytes or BLOCK_BYTES):
            table = parse_block_table(block)
            if table is None:
                yield from parse_lines(block, start)
            else:
                for i, row in enumerate(table_rows(table)):
                    yield start + i, row
            start += block.count(b"\n")


def load_json(path: Path) -> Any:
    with open_binary(path) as fh:
        return json.load(fh)


def iter_json(path: Path) -> Iterator[Row]:
    """Rows of a JSON array file (row index = position in the array)."""
    try:
        data = load_json(path)
    except ValueError as exc:
        yield 0, reject(0, "unparseable", f"{path}: invalid JSON: {exc}", path.read_bytes()[:4096])
        return
    if isinstance(data, dict):
        data = [data]
    for i, row in enumerate(data):
        if isinstance(row, dict):
            yield i, row
        else:
            yield i, reject(i, "unparseable", f"a JSON {type(row).__name__}, not an object", row)


def iter_csv(path: Path) -> Iterator[Row]:
    """Rows of a CSV file with a header; row index = record number (0-based, header excluded)."""
    csv.field_size_limit(sys.maxsize)
    with open_binary(path) as fh, io.TextIOWrapper(fh, encoding="utf-8", newline="") as text:
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            return
        for i, values in enumerate(reader):
            if len(values) != len(header):
                yield i, reject(i, "unparseable", f"{len(values)} fields, header has {len(header)}", values)
                continue
            yield i, dict(zip(header, values, strict=True))


def iter_parquet(path: Path, batch_rows: int = 16384) -> Iterator[Row]:
    """Rows of a Parquet file, read batch by batch."""
    import pyarrow.parquet as pq

    start = 0
    with pq.ParquetFile(path) as pf:
        for batch in pf.iter_batches(batch_size=batch_rows):
            for i, row in enumerate(batch.to_pylist()):
                yield start + i, row
            start += batch.num_rows


def first_row(path: Path) -> Any:
    """The first row of a file (for format detection), or the whole JSON document's first item."""
    ext = suffix(path)
    if ext == ".jsonl":
        with open_binary(path) as fh:
            for line in fh:
                if line.strip():
                    return json.loads(line)
        return None
    if ext == ".csv":
        return next((row for _, row in iter_csv(path)), None)
    if ext == ".parquet":
        import pyarrow.parquet as pq

        with pq.ParquetFile(path) as pf:
            batch = next(pf.iter_batches(batch_size=1), None)
            return batch.to_pylist()[0] if batch is not None and batch.num_rows else None
    data = load_json(path)
    if isinstance(data, list):
        return data[0] if data else None
    return data


def iter_rows(path: Path) -> Iterator[Row]:
    """Rows of any supported container, chosen by extension."""
    ext = suffix(path)
    if ext == ".jsonl":
        return iter_jsonl(path)
    if ext == ".csv":
        return iter_csv(path)
    if ext == ".parquet":
        return iter_parquet(path)
    if ext == ".json":
        return iter_json(path)
    raise ValueError(f"{path}: unsupported file type {ext!r} (expected .jsonl[.gz], .json, .csv or .parquet)")
