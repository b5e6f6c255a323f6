"""The streaming writer: files in, one lake transaction out.

``ingest_paths`` reads every file with :func:`read_file`, hashes each pair, and writes
in ONE transaction: new rows of ``pairs`` (one streaming Lance append), every new
sighting in ``pair_sources``, every new rejected row in ``quarantine``, and one row in
``ingest_batches``. Only the set of known ``pair_id`` (and the sightings and quarantine
keys of the files being read) is held in memory; pairs stream through in Arrow batches,
sightings and quarantine rows go to staged data files every ``SPOOL_ROWS`` rows.
A crash or kill anywhere leaves the lake at its previous committed version.

Re-running on the same file adds nothing: a known pair is a duplicate, a known
(pair, file, row) sighting and a known (file, row, reason) quarantine entry are skipped.

``as_benchmark=True`` reads the files through the layout registry
(:func:`pipelines.ingest.registry.iter_items`: every pair format and every benchmark layout,
RM-Bench, RMB, RewardBench 2, PPE, ...) and writes one ``benchmark_prompts`` row per new
(benchmark, first user turn), with the id of the first item it came from (``item_id``) and
of every item of this ingest that has it (``item_ids``).

A file that is truncated, corrupt or empty does not stop the run: its rows read before the
fault are kept, the fault is one quarantine row of that file (reason ``truncated`` /
``corrupt_file`` / ``empty_file``, at the row where reading stopped, the byte in its detail)
and an entry of :attr:`IngestReport.faults`; the other files are read as usual. Any other
error still rolls the whole transaction back.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lake import Lake
from lake.ids import conversation_key, ids_for
from lake.schemas import BENCHMARK_PROMPTS, INGEST_BATCHES, PAIR_SOURCES, PAIRS, QUARANTINE
from pipelines.ingest.batches import PAIR_COLUMNS, Columns, pairs_batch, small_table
from pipelines.ingest.fast import FlatBlock
from pipelines.ingest.fast import iter_flat as read_flat_fast
from pipelines.ingest.fast.rows import pairs_rows, sighting_rows
from pipelines.ingest.formats import detect_format, read_file
from pipelines.ingest.known import KnownIds
from pipelines.ingest.model import FILE_FAULTS, FileFault, RawPair, Rejected
from pipelines.ingest.registry import BenchItem, detect_layout, iter_items
from pipelines.ingest.sources import BLOCK_BYTES, expand_paths, probe, suffix

BATCH_ROWS = 8192
# processes for the fast path on big files (PREFHOUSE_INGEST_WORKERS=1: all in this process, with
# one thread preparing blocks ahead). On 2 cores that is faster than 2 processes (1M pairs: 9.7-10 s
# against 11.1-12.3 s, docs/ingest.md); with more cores, up to 4 processes share the Python work.
_CORES = os.cpu_count() or 1
WORKERS = int(os.environ.get("PREFHOUSE_INGEST_WORKERS", 1 if _CORES <= 2 else min(4, _CORES)))
POOL_MIN_BLOCKS = 32  # a spawned worker costs about a second of start-up: only worth it on big files
SIGHTING_COLUMNS = tuple(PAIR_SOURCES.names)
QUARANTINE_COLUMNS = tuple(QUARANTINE.names)
SPOOL_ROWS = 1 << 18  # sightings / quarantine rows held in memory before they go to data files


class _Spool:
    """Rows of one table, written to uncommitted data files every ``SPOOL_ROWS`` rows.

    An ingest's sightings grow with its input (about 80 bytes a row, measured); holding them until the
    end made memory grow with the file. The staged files join the table as one version in the
    ingest's commit (:meth:`lake.store.Transaction.stage`).
    """

    def __init__(self, txn: Any, table: str, schema: pa.Schema) -> None:
        self.txn, self.table, self.schema = txn, table, schema
        self.parts: list[pa.Table] = []
        self.pending = self.total = 0

    def add(self, rows: pa.Table | pa.RecordBatch) -> None:
        if not rows.num_rows:
            return
        self.parts.append(rows if isinstance(rows, pa.Table) else pa.Table.from_batches([rows]))
        self.pending += rows.num_rows
        if self.pending >= SPOOL_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.txn.stage(self.table, pa.concat_tables(self.parts).cast(self.schema), self.schema)
            self.total += self.pending
            self.parts, self.pending = [], 0

    def commit(self) -> int:
        """Stage what is left and commit; the number of rows added."""
        self.flush()
        self.txn.commit_staged(self.table, self.schema)
        return self.total


@dataclass
class IngestReport:
    """What one ingest did. ``n_read == n_accepted + n_duplicate + n_quarantined``, always.

    ``faults``: one entry per truncated, corrupt or empty file (``path``, ``reason``, ``row``,
    ``byte``, ``detail``); its fault row is counted in ``n_read`` and ``n_quarantined``.
    """

    n_read: int = 0
    n_accepted: int = 0
    n_duplicate: int = 0
    n_quarantined: int = 0
    batch_id: str = ""
    versions: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    n_new_sightings: int = 0
    n_new_quarantine: int = 0
    faults: list[dict[str, Any]] = field(default_factory=list)


UNDETECTED = "undetected"  # the format of a file whose fault came before its format could be read


def default_source(path: Path, fmt: str) -> str:
    stem = path.name.split(".")[0]
    return f"{fmt}:{path.parent.name}/{stem}" if path.parent.name else f"{fmt}:{stem}"


def _keys(lake: Lake, table: str, columns: list[str], files: list[str]) -> set[tuple]:
    """Existing key tuples of ``table`` for the given source files."""
    if not lake.exists(table):
        return set()
    ds = lake.dataset(table)
    if ds.count_rows() == 0:
        return set()
    t = ds.to_table(columns=columns, filter=pc.field("source_file").isin(files))
    return set(zip(*(t.column(c).to_pylist() for c in columns), strict=True))


class _Run:
    """State of one ingest: counters, the known keys, and the rows to write."""

    def __init__(self, lake: Lake, txn: Any, files: list[Path], fmt: str, source: str | None,
                 as_benchmark: bool, options: Mapping[str, Any], progress: Callable[[int], None] | None,
                 fast: bool = True) -> None:  # fmt: skip
        self.lake, self.files, self.fmt, self.source, self.fast = lake, files, fmt, source, fast
        self.as_benchmark, self.options, self.progress = as_benchmark, dict(options), progress
        self.batch_id = "ingest-" + uuid.uuid4().hex[:16]
        self.now = datetime.now(UTC)
        self.report = IngestReport(batch_id=self.batch_id)
        self.reasons: Counter[str] = Counter()
        origin = self.options.get("label_origin")
        self._origin = "unknown" if origin is None else origin  # read_flat's default
        names = [str(f.resolve()) for f in files]
        self.known_sightings = _keys(lake, "pair_sources", ["pair_id", "source_file", "source_row"], names)
        self.known_quarantine = _keys(lake, "quarantine", ["source_file", "source_row", "reason"], names)
        # a file read once in this run and never before cannot repeat a (pair, file, row) sighting
        counts = Counter(names)
        self.fresh_files = {n for n in names if counts[n] == 1} - {k[1] for k in self.known_sightings}
        if as_benchmark:
            self.known = _keys_all(lake, "benchmark_prompts", "prompt_id", source)
        else:
            self.known = _keys_all(lake, "pairs", "pair_id", None)
        self.sightings = _Spool(txn, "pair_sources", PAIR_SOURCES)
        self.quarantine = _Spool(txn, "quarantine", QUARANTINE)
        self.bench_rows: dict[str, dict[str, Any]] = {}  # prompt_id -> its new benchmark_prompts row
        self._entries: dict[str, dict[str, Any]] = {}  # resolved name -> its entry of report.files

    def plan(self) -> Iterator[tuple[Path, str, str, str, Rejected | None]]:
        """(path, resolved name, source, format, fault found before reading) of each file, in the report.

        The fault: the file's fault row when it shows at the start (:func:`probe`) or stops format
        detection; an unknown layout of a readable file still raises (pass ``--format``).
        """
        for path in self.files:
            fmt = "generic" if self.fmt == "auto" and "column_map" in self.options else self.fmt
            fault = probe(path)
            if fault is not None and fmt == "auto":
                fmt = UNDETECTED
            elif fmt == "auto":
                try:
                    fmt = _detect(path, self.as_benchmark)
                except FileFault as exc:
                    fmt, fault = UNDETECTED, exc.rejected()
            source = self.source or default_source(path, fmt)
            self.report.files.append({"path": str(path), "format": fmt, "source": source})
            fname = str(path.resolve())
            self._entries[fname] = self.report.files[-1]
            yield path, fname, source, fmt, fault

    def _stream(
        self, path: Path, fmt: str, fault: Rejected | None, fast: bool
    ) -> Iterator[RawPair | BenchItem | Rejected | FlatBlock]:
        """Everything one file yields, its fault row last if it has one (an empty file: ``empty_file``).

        Benchmark items (``as_benchmark``) come from the layout registry, pairs from ``read_file``.
        """
        if fault is not None:
            yield fault
            return
        if fast and fmt == "flat" and suffix(path) == ".jsonl" and "column_map" not in self.options:
            origin = self.options.get("label_origin")
            big = path.stat().st_size > POOL_MIN_BLOCKS * BLOCK_BYTES
            stream = read_flat_fast(path, "unknown" if origin is None else origin, workers=WORKERS if big else 1)
        elif self.as_benchmark:
            stream = iter_items(path, fmt, **self.options)
        else:
            stream = read_file(path, fmt, **self.options)
        n_rows = 0  # every row yields one item (a block: its rows), so this is the next row index
        try:
            for item in stream:
                n_rows += item.n_rows if isinstance(item, FlatBlock) else 1
                yield item
        except FileFault as exc:  # a reader that loads the file whole (EvalBiasBench's load_json)
            yield exc.rejected(n_rows if exc.row is None else exc.row)
            return
        if n_rows == 0:  # the file had bytes, but no rows (a CSV header alone, [], a Parquet of 0 rows)
            yield FileFault("empty_file", "the file holds no rows").rejected(0)

    def items(self) -> Iterator[tuple[Path, str, str, RawPair | BenchItem | Rejected]]:
        for path, fname, source, fmt, fault in self.plan():
            for item in self._stream(path, fmt, fault, fast=False):
                yield path, fname, source, item  # type: ignore[misc]  # fast=False: never a FlatBlock

    def pair_items(self) -> Iterator[tuple[str, str, RawPair | BenchItem | Rejected | FlatBlock]]:
        """Like :meth:`items`, but flat JSONL goes through the column-wise fast path."""
        for path, fname, source, fmt, fault in self.plan():
            for item in self._stream(path, fmt, fault, fast=self.fast):
                yield fname, source, item

    def pair_batches(self) -> Iterator[pa.RecordBatch]:
        """Consume every input row; yield new ``pairs`` rows in Arrow batches."""
        cols = Columns(PAIR_COLUMNS)
        sight, quar = Columns(SIGHTING_COLUMNS), Columns(QUARANTINE_COLUMNS)
        reported = 0
        for fname, source, item in self.pair_items():
            if isinstance(item, FlatBlock):
                if len(cols):  # keep the pairs in row order
                    yield pairs_batch(cols, self.batch_id, self.now)
                    cols = Columns(PAIR_COLUMNS)
                if len(sight):  # likewise the sightings
                    self.sightings.add(small_table(sight, PAIR_SOURCES))
                    sight = Columns(SIGHTING_COLUMNS)
                batch = self._block(quar, fname, source, item)
                if batch.num_rows:
                    yield batch
            elif isinstance(item, Rejected):
                self.report.n_read += 1
                self._quarantine(quar, fname, source, item)
            else:
                self.report.n_read += 1
                assert isinstance(item, RawPair)  # benchmark items go through _write_benchmark
                self._pair(cols, sight, fname, source, item)
            if len(cols) >= BATCH_ROWS:
                yield pairs_batch(cols, self.batch_id, self.now)
                cols = Columns(PAIR_COLUMNS)
            if len(sight) >= 8 * BATCH_ROWS:
                self.sightings.add(small_table(sight, PAIR_SOURCES))
                sight = Columns(SIGHTING_COLUMNS)
            if len(quar) >= BATCH_ROWS:  # a file of bad rows must not fill memory either
                self.quarantine.add(small_table(quar, QUARANTINE))
                quar = Columns(QUARANTINE_COLUMNS)
            if self.progress is not None and self.report.n_read - reported >= BATCH_ROWS:
                self.progress(self.report.n_read - reported)
                reported = self.report.n_read
        if len(cols):
            yield pairs_batch(cols, self.batch_id, self.now)
        self.sightings.add(small_table(sight, PAIR_SOURCES))
        self.quarantine.add(small_table(quar, QUARANTINE))

    def _quarantine(self, quar: Columns, fname: str, source: str, item: Rejected) -> None:
        self.report.n_quarantined += 1
        self.reasons[item.reason] += 1
        if item.reason in FILE_FAULTS:
            entry = self._entries[fname]
            fault = {"path": entry["path"], "reason": item.reason, "row": item.source_row, "byte": item.offset,
                     "detail": item.detail}  # fmt: skip
            entry["fault"] = item.reason
            self.report.faults.append(fault)
        key = (fname, item.source_row, item.reason)
        if key in self.known_quarantine:
            return
        self.known_quarantine.add(key)
        quar.add(self.batch_id, source, fname, item.source_row, item.reason, item.detail, item.raw, self.now)

    def _block(self, quar: Columns, fname: str, source: str, blk: FlatBlock) -> pa.RecordBatch:
        """Count, dedup and record a column-wise block; return its new pairs."""
        self.report.n_read += blk.n_rows
        for item in blk.others:
            self._quarantine(quar, fname, source, item)
        is_new = self.known.mark_new(blk.pair_ids)
        n_new = int(is_new.sum())
        self.report.n_accepted += n_new
        self.report.n_duplicate += len(is_new) - n_new
        if fname in self.fresh_files:
            new_sighting = [True] * len(is_new)
        else:
            rows = blk.source_row.to_pylist()
            keys = [(pid, fname, row) for pid, row in zip(blk.pair_ids.to_pylist(), rows, strict=True)]
            new_sighting = [k not in self.known_sightings for k in keys]
            self.known_sightings.update(keys)
        meta = {"source": source, "source_file": fname, "ingest_batch_id": self.batch_id}
        self.sightings.add(sighting_rows(blk, is_new, new_sighting, meta, self.now))
        return pairs_rows(blk, is_new, {**meta, "label_origin": self._origin}, self.now)

    def _pair(self, cols: Columns, sight: Columns, fname: str, source: str, p: RawPair) -> None:
        conv_key = conversation_key(p.conversation)
        pid, prompt_id, pairset_id = ids_for(conv_key, p.chosen, p.rejected)
        is_new = pid not in self.known
        details = None if p.label_details is None else _dumps(p.label_details)
        if is_new:
            self.known.add(pid)
            self.report.n_accepted += 1
            cols.add(pid, prompt_id, pairset_id, p.chosen, p.rejected, p.is_tie, p.category, p.label_origin, details,
                     source, fname, p.source_row)  # fmt: skip
            cols.add_conversation(p.conversation)
        else:
            self.report.n_duplicate += 1
        if (pid, fname, p.source_row) not in self.known_sightings:
            self.known_sightings.add((pid, fname, p.source_row))
            sight.add(pid, source, fname, p.source_row, is_new, details, self.batch_id, self.now)

    def _benchmark(self, fname: str, source: str, item: BenchItem) -> None:
        """A new (benchmark, first user turn) becomes a row; a prompt met again in this ingest adds its item id."""
        first = item.first_prompt
        _pid, prompt_id, _ = ids_for(conversation_key([{"role": "user", "content": first}]), "", "")
        if prompt_id in self.known:
            self.report.n_duplicate += 1
            row = self.bench_rows.get(prompt_id)
            if row is not None:  # first met in this ingest (not in an earlier one)
                row["item_ids"].append(item.item_id)
            return
        self.known.add(prompt_id)
        self.report.n_accepted += 1
        self.bench_rows[prompt_id] = {
            "benchmark": source, "prompt_id": prompt_id, "prompt": first, "item_id": item.item_id,
            "item_ids": [item.item_id], "source_file": fname, "source_row": item.source_row,
            "ingest_batch_id": self.batch_id, "ingested_at": self.now,
        }  # fmt: skip


def _detect(path: Path, as_benchmark: bool) -> str:
    """A file's format: any registry layout for a benchmark ingest, a pair format otherwise."""
    return detect_layout(path).name if as_benchmark else detect_format(path)


def _keys_all(lake: Lake, table: str, column: str, benchmark: str | None) -> KnownIds:
    """Every ``column`` id of ``table`` (16 bytes each, read batch by batch)."""
    if not lake.exists(table):
        return KnownIds()
    ds = lake.dataset(table)
    flt = None if benchmark is None else pc.field("benchmark") == benchmark
    return KnownIds(b.column(column) for b in ds.to_batches(columns=[column], filter=flt))


def _dumps(details: Mapping[str, Any]) -> str:
    import json

    return json.dumps(details, sort_keys=True, ensure_ascii=False, default=str)


def ingest_paths(
    lake: Lake,
    paths: Iterable[str | Path],
    format: str = "auto",
    source: str | None = None,
    as_benchmark: bool = False,
    column_map: str | Mapping[str, str] | None = None,
    *,
    label_origin: str | None = None,
    progress: Callable[[int], None] | None = None,
    fast: bool | None = None,
    **options: Any,
) -> IngestReport:
    """Ingest files into the lake in one transaction; see the module docstring.

    ``fast=False`` sends flat JSONL through the row path too (the fast path gives the same rows);
    None reads ``PREFHOUSE_INGEST_FAST`` (``0`` turns the fast path off; default on).
    """
    if fast is None:
        fast = os.environ.get("PREFHOUSE_INGEST_FAST", "1") != "0"
    files = expand_paths(paths)
    if column_map is not None:
        options["column_map"] = column_map
    if label_origin is not None:
        options["label_origin"] = label_origin
    if as_benchmark and source is None:
        if len(files) > 1:
            raise ValueError("--as-benchmark over several files needs --source NAME (the benchmark's name)")
        fmt = format
        if fmt == "auto":
            try:
                fmt = UNDETECTED if probe(files[0]) is not None else _detect(files[0], True)
            except FileFault:  # recorded for the file when it is read
                fmt = UNDETECTED
        source = default_source(files[0], fmt)
    lake.check_ids()
    started = datetime.now(UTC)
    with lake.transaction(f"ingest {', '.join(str(f) for f in files)[:200]}") as txn:
        run = _Run(lake, txn, files, format, source, as_benchmark, options, progress, fast)
        if as_benchmark:
            _write_benchmark(txn, run)
        else:
            _write_pairs(txn, run)
        rep = run.report
        rep.reasons = dict(sorted(run.reasons.items()))
        assert rep.n_read == rep.n_accepted + rep.n_duplicate + rep.n_quarantined, rep
        assert sum(rep.reasons.values()) == rep.n_quarantined, rep
        log = {
            "ingest_batch_id": run.batch_id, "source": source or ",".join(sorted({f["source"] for f in rep.files})),
            "format": format if format != "auto" else ",".join(sorted({f["format"] for f in rep.files})),
            "paths": [str(f.resolve()) for f in files], "is_benchmark": as_benchmark, "n_read": rep.n_read,
            "n_accepted": rep.n_accepted, "n_duplicate": rep.n_duplicate, "n_quarantined": rep.n_quarantined,
            "started_at": started, "finished_at": datetime.now(UTC),
        }  # fmt: skip
        txn.append("ingest_batches", pa.Table.from_pylist([log], schema=INGEST_BATCHES))
        rep.versions = dict(txn.written)
    return rep


def _write_pairs(txn: Any, run: _Run) -> None:
    batches = run.pair_batches()
    first = next(batches, None)  # nothing new: no pairs version at all
    if first is not None:
        failure: list[BaseException] = []

        def guarded() -> Iterator[pa.RecordBatch]:
            try:
                yield from chain([first], batches)
            except BaseException as exc:  # Lance wraps it in an OSError: keep the original to re-raise
                failure.append(exc)
                raise

        try:
            txn.append("pairs", pa.RecordBatchReader.from_batches(PAIRS, guarded()))
        except OSError:
            if failure:
                raise failure[0] from None
            raise
    run.report.n_new_sightings = run.sightings.commit()
    run.report.n_new_quarantine = run.quarantine.commit()


def _write_benchmark(txn: Any, run: _Run) -> None:
    quar = Columns(QUARANTINE_COLUMNS)
    for _path, fname, source, item in run.items():
        run.report.n_read += 1
        if isinstance(item, Rejected):
            run._quarantine(quar, fname, source, item)
        else:
            assert isinstance(item, BenchItem)
            run._benchmark(fname, source, item)
    run.quarantine.add(small_table(quar, QUARANTINE))
    new = pa.Table.from_pylist(list(run.bench_rows.values()), schema=BENCHMARK_PROMPTS)
    if new.num_rows:
        old = _without_item_columns(run.lake)
        if old is None:
            txn.append("benchmark_prompts", new)
        else:  # written before benchmark_prompts had its item columns: rewrite it with them (null for the old rows)
            txn.overwrite("benchmark_prompts", pa.concat_tables([old, new]))
    run.report.n_new_quarantine = run.quarantine.commit()


def _without_item_columns(lake: Lake) -> pa.Table | None:
    """The rows of a ``benchmark_prompts`` that lacks columns of the schema, given them as nulls; else None."""
    if not lake.exists("benchmark_prompts"):
        return None
    ds = lake.dataset("benchmark_prompts")
    if set(BENCHMARK_PROMPTS.names) <= set(ds.schema.names):
        return None
    old = ds.to_table()
    columns = [old.column(f.name) if f.name in old.column_names else pa.nulls(old.num_rows, f.type)
               for f in BENCHMARK_PROMPTS]  # fmt: skip
    return pa.Table.from_arrays(columns, schema=BENCHMARK_PROMPTS)
