"""The streaming writer: files in, one lake transaction out.

``ingest_paths`` reads every file, hashes each pair, and writes in ONE transaction: new rows of
``pairs`` (one streaming Lance append), every new sighting in ``pair_sources``, every new rejected
row in ``quarantine``, and one row in ``ingest_batches``. Only the set of known ``pair_id`` (and
the sightings and quarantine keys of the files being read) is held in memory; pairs stream
through in Arrow batches, sightings and quarantine rows go to staged data files every
``SPOOL_ROWS`` rows. A crash or kill anywhere leaves the lake at its previous committed version.

Each file is read by the fast path (:func:`pipelines.ingest.fast.iter_flat`, flat JSONL) or the
row path (:func:`read_file`); either way the writer takes it a block at a time
(:mod:`pipelines.ingest.blocks`): count, dedup against the known ids, record the sightings,
append the new pairs.

Re-running on the same file adds nothing: a known pair is a duplicate, a known
(pair, file, row) sighting and a known (file, row, reason) quarantine entry are skipped.

``as_benchmark=True`` is the benchmark ingest (:mod:`pipelines.ingest.benchmark_writer`): it
writes ``benchmark_prompts`` instead of pairs.

A file that is truncated, corrupt or empty does not stop the run: its rows read before the
fault are kept, the fault is one quarantine row of that file (reason ``truncated`` /
``corrupt_file`` / ``empty_file``, at the row where reading stopped, the byte in its detail)
and an entry of :attr:`IngestReport.faults`; the other files are read as usual. Any other
error still rolls the whole transaction back.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from lake import Lake
from lake.records import record_batch
from lake.schemas import INGEST_BATCHES, PAIR_SOURCES, PAIRS
from pipelines.ingest.benchmark_writer import write_benchmark
from pipelines.ingest.blocks import BLOCK_ROWS, PairBlock, row_blocks
from pipelines.ingest.fast import FlatBlock, covers
from pipelines.ingest.fast import iter_flat as read_flat_fast
from pipelines.ingest.files import UNDETECTED, Batch, FilePlan, default_source, detect, with_fault_rows
from pipelines.ingest.formats import read_file
from pipelines.ingest.known import known_ids, known_keys
from pipelines.ingest.model import FileFault, RawPair, Rejected
from pipelines.ingest.quarantine import QuarantineLog
from pipelines.ingest.report import IngestReport
from pipelines.ingest.sources import expand_paths, probe
from pipelines.ingest.spool import SPOOL_ROWS, Spool


def _n_rows(item: FlatBlock | RawPair | Rejected) -> int:
    return item.n_rows if isinstance(item, FlatBlock) else 1


class _PairsWriter:
    """One pairs ingest: the known keys, the spools, and each block's rows."""

    def __init__(self, lake: Lake, txn: Any, batch: Batch, fast: bool) -> None:
        self.batch, self.report, self.fast = batch, batch.report, fast
        names = batch.names
        self.known_sightings = known_keys(lake, "pair_sources", ["pair_id", "source_file", "source_row"], names)
        # a file read once in this run and never before cannot repeat a (pair, file, row) sighting
        counts = Counter(names)
        self.fresh_files = {n for n in names if counts[n] == 1} - {k[1] for k in self.known_sightings}
        self.known = known_ids(lake, "pairs", "pair_id")
        # SPOOL_ROWS is read here, from this module, so that a test can make it small
        self.sightings = Spool(txn, "pair_sources", PAIR_SOURCES, SPOOL_ROWS)
        self.quarantine = QuarantineLog(lake, txn, names, self.report, batch.id, batch.now, SPOOL_ROWS)

    def rows(self, plan: FilePlan) -> Iterator[FlatBlock | RawPair | Rejected]:
        """Everything one file yields: flat JSONL through the column-wise fast path, the rest row by row."""
        options = self.batch.options
        if self.fast and covers(plan.path, plan.format, options):
            origin = options.get("label_origin")
            read = partial(read_flat_fast, plan.path, "unknown" if origin is None else origin)
        else:
            read = partial(read_file, plan.path, plan.format, **options)
        return with_fault_rows(plan, read, _n_rows)

    def batches(self, progress: Callable[[int], None] | None) -> Iterator[pa.RecordBatch]:
        """Consume every input row; yield new ``pairs`` rows in Arrow batches."""
        reported = 0
        for plan in self.batch.plans():
            for block in row_blocks(self.rows(plan)):
                new = self._block(plan, block)
                if new.num_rows:
                    yield new
                if progress is not None and self.report.n_read - reported >= BLOCK_ROWS:
                    progress(self.report.n_read - reported)
                    reported = self.report.n_read

    def _block(self, plan: FilePlan, blk: PairBlock) -> pa.RecordBatch:
        """Count, dedup and record a block; return its new pairs."""
        self.report.n_read += blk.n_rows
        for item in blk.others:
            self.quarantine.add(plan, item)
        pair_ids, source_rows = blk.pair_ids, blk.source_row
        is_new = self.known.mark_new(pair_ids)
        n, n_new = len(is_new), int(is_new.sum())
        self.report.n_accepted += n_new
        self.report.n_duplicate += n - n_new
        if plan.name in self.fresh_files:
            new_sighting = np.ones(n, dtype=bool)
        else:
            keys = [
                (pid, plan.name, row) for pid, row in zip(pair_ids.to_pylist(), source_rows.to_pylist(), strict=True)
            ]
            new_sighting = np.array([k not in self.known_sightings for k in keys], dtype=bool)
            self.known_sightings.update(keys)
        meta = {"source": plan.source, "source_file": plan.name, "ingest_batch_id": self.batch.id,
                "ingested_at": self.batch.now}  # fmt: skip
        sightings = {"pair_id": pair_ids, "source_row": source_rows, "is_first_sighting": is_new,
                     "label_details": blk.label_details, **meta}  # fmt: skip
        self.sightings.add(_where(record_batch(PAIR_SOURCES, sightings, n), new_sighting))
        return _where(record_batch(PAIRS, blk.columns() | meta, n), is_new)

    def write(self, txn: Any, progress: Callable[[int], None] | None) -> None:
        batches = self.batches(progress)
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
        self.report.n_new_sightings = self.sightings.commit()
        self.quarantine.commit()


def _where(batch: pa.RecordBatch, mask: np.ndarray) -> pa.RecordBatch:
    return batch if bool(np.all(mask)) else batch.filter(pa.array(mask, pa.bool_()))


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
                fmt = UNDETECTED if probe(files[0]) is not None else detect(files[0], True)
            except FileFault:  # recorded for the file when it is read
                fmt = UNDETECTED
        source = default_source(files[0], fmt)
    lake.check_ids()
    started = datetime.now(UTC)
    with lake.transaction(f"ingest {', '.join(str(f) for f in files)[:200]}") as txn:
        batch = Batch(files, format, source, dict(options), as_benchmark)
        if as_benchmark:
            write_benchmark(lake, txn, batch)
        else:
            _PairsWriter(lake, txn, batch, fast).write(txn, progress)
        rep = batch.report
        assert rep.n_read == rep.n_accepted + rep.n_duplicate + rep.n_quarantined, rep
        assert sum(rep.reasons.values()) == rep.n_quarantined, rep
        log = {
            "ingest_batch_id": batch.id, "source": source or ",".join(sorted({f["source"] for f in rep.files})),
            "format": format if format != "auto" else ",".join(sorted({f["format"] for f in rep.files})),
            "paths": batch.names, "is_benchmark": as_benchmark, "n_read": rep.n_read,
            "n_accepted": rep.n_accepted, "n_duplicate": rep.n_duplicate, "n_quarantined": rep.n_quarantined,
            "started_at": started, "finished_at": datetime.now(UTC),
        }  # fmt: skip
        txn.append("ingest_batches", pa.Table.from_pylist([log], schema=INGEST_BATCHES))
        rep.versions = dict(txn.written)
    return rep
