"""The files of one ingest (:class:`Batch`): how each is read (its source and format), and every row it yields.

:func:`plan_files` gives each file's :class:`FilePlan` (and its entry of the report); a fault that
shows before reading (:func:`pipelines.ingest.sources.probe`, or one that stops format detection)
is kept with it. :func:`with_fault_rows` turns what a reader yields into the file's rows, with the
fault row a reader leaves to its caller: one found before reading, one raised by a reader that
loads the file whole, or ``empty_file`` for a file that had bytes but no rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pipelines.ingest.formats import detect_format
from pipelines.ingest.model import FileFault, Rejected
from pipelines.ingest.registry import detect_layout
from pipelines.ingest.report import IngestReport
from pipelines.ingest.sources import probe

UNDETECTED = "undetected"  # the format of a file whose fault came before its format could be read
T = TypeVar("T")


def default_source(path: Path, fmt: str) -> str:
    stem = path.name.split(".")[0]
    return f"{fmt}:{path.parent.name}/{stem}" if path.parent.name else f"{fmt}:{stem}"


def detect(path: Path, as_benchmark: bool) -> str:
    """A file's format: any registry layout for a benchmark ingest, a pair format otherwise."""
    return detect_layout(path).name if as_benchmark else detect_format(path)


@dataclass(frozen=True)
class FilePlan:
    """One file of an ingest and how it is read."""

    path: Path
    name: str  # the resolved absolute path: the file's identity in the lake
    source: str
    format: str
    fault: Rejected | None  # the fault found before reading
    entry: dict[str, Any]  # its entry of the report's files


def plan_files(
    files: Iterable[Path], fmt: str, source: str | None, options: Mapping[str, Any], as_benchmark: bool,
    report: IngestReport,
) -> Iterator[FilePlan]:  # fmt: skip
    """Each file's plan, its entry appended to ``report.files``.

    An unknown layout of a readable file still raises (pass ``--format``).
    """
    for path in files:
        file_fmt = "generic" if fmt == "auto" and "column_map" in options else fmt
        fault = probe(path)
        if fault is not None and file_fmt == "auto":
            file_fmt = UNDETECTED
        elif file_fmt == "auto":
            try:
                file_fmt = detect(path, as_benchmark)
            except FileFault as exc:
                file_fmt, fault = UNDETECTED, exc.rejected()
        file_source = source or default_source(path, file_fmt)
        report.files.append({"path": str(path), "format": file_fmt, "source": file_source})
        yield FilePlan(path, str(path.resolve()), file_source, file_fmt, fault, report.files[-1])


@dataclass
class Batch:
    """One ingest: its files and how to read them, its id and time, and its report."""

    files: list[Path]
    format: str
    source: str | None
    options: dict[str, Any]
    as_benchmark: bool = False
    id: str = field(default_factory=lambda: "ingest-" + uuid.uuid4().hex[:16])
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    report: IngestReport = field(default_factory=IngestReport)

    def __post_init__(self) -> None:
        self.report.batch_id = self.id

    @property
    def names(self) -> list[str]:
        """The files' resolved names, as the lake records them."""
        return [str(f.resolve()) for f in self.files]

    def plans(self) -> Iterator[FilePlan]:
        return plan_files(self.files, self.format, self.source, self.options, self.as_benchmark, self.report)


def with_fault_rows(
    plan: FilePlan, read: Callable[[], Iterable[T]], n_rows: Callable[[T], int] = lambda _: 1
) -> Iterator[T | Rejected]:
    """Everything ``read()`` yields for the file, its fault row last if it has one (no rows: ``empty_file``).

    ``n_rows``: the rows an item stands for (a block: its rows), to place a fault row.
    """
    if plan.fault is not None:
        yield plan.fault
        return
    stream = read()
    rows = 0  # the next row index
    try:
        for item in stream:
            rows += n_rows(item)
            yield item
    except FileFault as exc:  # a reader that loads the file whole (EvalBiasBench's load_json)
        yield exc.rejected(rows if exc.row is None else exc.row)
        return
    if rows == 0:  # the file had bytes, but no rows (a CSV header alone, [], a Parquet of 0 rows)
        yield FileFault("empty_file", "the file holds no rows").rejected(0)
