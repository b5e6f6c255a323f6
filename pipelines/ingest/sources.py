"""Stream raw rows out of files: JSONL (optionally gzip), JSON, CSV and Parquet.

Each generator yields ``(row_index, row)`` where ``row`` is a dict, or a
:class:`Rejected` for a row that does not parse. JSONL and Parquet stream in
blocks and never hold the whole file: a JSONL block is parsed by pyarrow (fast,
multi-threaded) and, only if that fails (a malformed line, mixed types), line by
line with :mod:`json` so that one bad line is quarantined and the rest is kept.
A ``.json`` file (an array, or an object of arrays) is small by nature and is
loaded whole.

A fault of the whole file (a ``.gz`` cut short or damaged, a file that is not text or not
Parquet, one with no rows) never raises out of the row generators: they yield the rows read
before it, then one :class:`Rejected` with a ``FILE_FAULTS`` reason at the row where
reading stopped (:class:`FileFault`; docs/ingest.md). :func:`probe` finds the faults that show
at a file's start, :func:`first_row` raises :class:`FileFault` for them.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import mmap
import os
import sys
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.json as pajson

from pipelines.ingest.model import FileFault, Rejected, reject

BLOCK_BYTES = 8 << 20  # JSONL is parsed in blocks of about this size
Row = tuple[int, dict[str, Any] | Rejected]


PARSE_BLOCK_BYTES = 1 << 20


PROBE_BYTES = 64 << 10  # the start of a file that probe() reads
BINARY_BYTES = 8 << 10  # a NUL byte in this many first bytes: binary, not text (git's rule)


class _GzipGuard(io.RawIOBase):
    """The decompressed bytes of a ``.gz`` file that end, instead of raising, at a fault.

    :mod:`gzip` raises EOFError for a stream cut short, BadGzipFile or ``zlib.error`` for one that
    is not gzip or is damaged; a buffered ``read(8 MiB)`` that meets one loses all it had
    decompressed. Here every byte decompressed before the fault is delivered, then end of file;
    :attr:`fault` says what happened and where.
    """

    def __init__(self, path: Path) -> None:
        self._gz = gzip.open(path, "rb")  # noqa: SIM115  # closed by close()
        self.size = path.stat().st_size
        self.fault: FileFault | None = None
        self.offset = 0  # decompressed bytes delivered
        self.ends_line = True  # whether they end with a newline

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self.fault is not None:
            return 0
        try:
            data = self._gz.read1(len(b))
        except EOFError:
            what = f"the gzip stream ends before its end-of-stream marker: the file ({self.size} bytes) is cut short"
            self.fault = FileFault("truncated", what, self.offset)
            return 0
        except (gzip.BadGzipFile, zlib.error) as exc:
            what = "not a gzip file" if self.offset == 0 else "the gzip data is damaged"
            self.fault = FileFault("corrupt_file", f"{what} ({exc})", self.offset)
            return 0
        n = len(data)
        if n:
            b[:n] = data
            self.offset += n
            self.ends_line = data.endswith(b"\n")
        return n

    def close(self) -> None:
        self._gz.close()
        super().close()


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes; a ``.gz`` decompressed, ending at a fault (:func:`stream_fault` says which)."""
    if path.name.endswith(".gz"):
        return io.BufferedReader(_GzipGuard(path))
    return open(path, "rb")


def _guard(fh: IO[bytes]) -> _GzipGuard | None:
    raw = getattr(fh, "raw", None)
    return raw if isinstance(raw, _GzipGuard) else None


def stream_fault(fh: IO[bytes]) -> FileFault | None:
    """The fault that ended a stream from :func:`open_binary` (None: it ended cleanly)."""
    guard = _guard(fh)
    return None if guard is None else guard.fault


def probe(path: Path) -> Rejected | None:
    """The fault row of a file whose fault shows at its start (nothing of it can be read), or None.

    Empty (0 bytes; a ``.gz`` of nothing; only whitespace), not gzip, binary (a NUL byte in the
    first 8 KiB: JSON and CSV text never holds one). A fault further on is left to the readers,
    which keep the rows before it.
    """
    size = path.stat().st_size
    if size == 0:
        return FileFault("empty_file", "the file is empty (0 bytes)", 0).rejected(0)
    if suffix(path) == ".parquet":
        return None
    with open_binary(path) as fh:
        head = fh.read(PROBE_BYTES)
        fault = stream_fault(fh)
    if not head.strip() and (fault is not None or len(head) < PROBE_BYTES):
        if fault is None:
            what = f"only {len(head)} bytes of whitespace" if head else "its gzip data is empty"
            fault = FileFault("empty_file", f"the file holds no rows ({what})", len(head))
        return fault.rejected(0)
    nul = head.find(b"\0", 0, BINARY_BYTES)
    if nul >= 0:
        line = head.count(b"\n", 0, nul) + 1
        what = f"binary data, not text: a NUL byte on line {line}; nothing of the file is read"
        return FileFault("corrupt_file", what, nul, head[: min(nul + 64, len(head))]).rejected(0)
    return None


def suffix(path: Path) -> str:
    """The format-relevant extension: ``.jsonl`` for ``x.jsonl.gz``."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return Path(name).suffix


EXTENSIONS = (".jsonl", ".json", ".csv", ".parquet")  # and each of them .gz


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders expand to the supported files inside them (sorted)."""
    paths = list(paths)
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and suffix(f) in EXTENSIONS))
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    if not out:
        raise ValueError(f"no input files found in {[str(p) for p in paths]}")
    return out


def line_blocks(fh: IO[bytes], size: int) -> Iterator[bytes]:
    """Chunks of whole lines.

    A stream that ended at a fault (:func:`stream_fault`) raises its :class:`FileFault` after the
    last whole line, with the incomplete line (if any) as its raw text; the caller knows the row.
    """
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
    fault = stream_fault(fh)
    if fault is not None:
        what = fault.what + (f"; the row there is incomplete ({len(rest)} bytes), not read" if rest else "")
        raise FileFault(fault.reason, what, fault.offset, rest)
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
    try:
        with open_binary(path) as fh:
            for block in line_blocks(fh, block_bytes or BLOCK_BYTES):
                table = parse_block_table(block)
                if table is None:
                    yield from parse_lines(block, start)
                else:
                    for i, row in enumerate(table_rows(table)):
                        yield start + i, row
                start += block.count(b"\n")
    except FileFault as fault:
        yield start, fault.rejected(start, line=start + 1)


def load_json(path: Path) -> Any:
    """The JSON document of a file; :class:`FileFault` when it is cut short, damaged or not UTF-8."""
    with open_binary(path) as fh:
        data = fh.read()
        fault = stream_fault(fh)
    if fault is not None:  # a document is parsed whole: nothing before the fault is read
        raise FileFault(fault.reason, fault.what + "; a JSON document is read whole, so none of it is", fault.offset,
                        data[-4096:], row=0)  # fmt: skip
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        raise FileFault("corrupt_file", f"not UTF-8 text ({exc.reason})", exc.start, data[:4096], row=0) from None
    except json.JSONDecodeError as exc:
        if exc.pos >= len(exc.doc.rstrip()) or exc.msg.startswith("Unterminated string"):  # it ran out of text
            raise FileFault("truncated", f"the JSON document ends early ({exc.msg})", len(data), data[-4096:],
                            row=0) from None  # fmt: skip
        raise


def iter_json(path: Path) -> Iterator[Row]:
    """Rows of a JSON array file (row index = position in the array)."""
    try:
        data = load_json(path)
    except FileFault as fault:
        yield 0, fault.rejected(0)
        return
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
    try:
        yield from _csv_rows(path)
    except FileFault as fault:
        yield fault.row or 0, fault.rejected()


def _csv_record(i: int, values: list[str], header: list[str]) -> Row:
    if len(values) != len(header):
        return i, reject(i, "unparseable", f"{len(values)} fields, header has {len(header)}", values)
    return i, dict(zip(header, values, strict=True))


def _csv_rows(path: Path) -> Iterator[Row]:
    """The records of :func:`iter_csv`; raises :class:`FileFault` (with its row) after the last whole one.

    Each record is handed out once the next one is read (or the file ended cleanly): the last one
    before a ``.gz`` fault is incomplete unless the data ended with a newline.
    """
    csv.field_size_limit(sys.maxsize)
    with open_binary(path) as fh, io.TextIOWrapper(fh, encoding="utf-8", newline="") as text:
        header: list[str] | None = None
        held: list[str] | None = None
        i = 0  # the index of the held record
        try:
            for values in csv.reader(text):
                if header is None:
                    header = values
                elif held is None:
                    held = values
                else:
                    yield _csv_record(i, held, header)
                    i, held = i + 1, values
        except UnicodeDecodeError as exc:  # the records read so far ended with their newlines
            fault: FileFault | None = FileFault("corrupt_file", f"not UTF-8 text ({exc.reason})")
            complete = True
        else:
            fault = stream_fault(fh)
            guard = _guard(fh)
            complete = guard is None or guard.ends_line
        if held is not None and header is not None and (fault is None or complete):
            yield _csv_record(i, held, header)
            i, held = i + 1, None
        if fault is not None:
            what = fault.what + ("; the record there is incomplete, not read" if held is not None else "")
            raise FileFault(fault.reason, what, fault.offset, held or b"", row=i)


def iter_parquet(path: Path, batch_rows: int = 16384) -> Iterator[Row]:
    """Rows of a Parquet file, read batch by batch; an unreadable one ends with a ``corrupt_file`` row."""
    import pyarrow.parquet as pq

    start = 0
    try:
        with pq.ParquetFile(path) as pf:
            for batch in pf.iter_batches(batch_size=batch_rows):
                rows = batch.to_pylist()
                for i, row in enumerate(rows):
                    yield start + i, row
                start += len(rows)
    except pa.ArrowException as exc:
        what = "not a readable Parquet file" if start == 0 else "the Parquet data is damaged"
        yield start, FileFault("corrupt_file", f"{what} ({exc})").rejected(start)


def first_row(path: Path) -> Any:
    """The first row of a file (for format detection), or the whole JSON document's first item.

    None when the file has no rows; :class:`FileFault` (with its row) when it cannot be read
    that far (a ``.gz`` cut short or damaged in its first row, not UTF-8 text, not Parquet).
    """
    ext = suffix(path)
    if ext == ".jsonl":
        with open_binary(path) as fh:
            at = n = 0
            for n, line in enumerate(fh):
                if line.strip():
                    fault = stream_fault(fh)
                    if fault is not None and not line.endswith(b"\n"):
                        raise FileFault(fault.reason, fault.what, fault.offset, line, row=n, line=n + 1)
                    try:
                        line.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        what = f"not UTF-8 text ({exc.reason}); pass --format to quarantine its rows one by one"
                        raise FileFault("corrupt_file", what, at + exc.start, line, row=n, line=n + 1) from None
                    return json.loads(line)
                at += len(line)
            fault = stream_fault(fh)
            if fault is not None:
                raise FileFault(fault.reason, fault.what, fault.offset, b"", row=n + 1 if at else 0)
        return None
    if ext == ".csv":
        return next((row for _, row in _csv_rows(path)), None)
    if ext == ".parquet":
        import pyarrow.parquet as pq

        try:
            with pq.ParquetFile(path) as pf:
                batch = next(pf.iter_batches(batch_size=1), None)
        except pa.ArrowException as exc:
            raise FileFault("corrupt_file", f"not a readable Parquet file ({exc})", row=0) from None
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
