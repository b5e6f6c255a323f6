"""Snapshots: a table pinned at a version or tag, for training jobs and analysts.

A :class:`Snapshot` never changes under its reader: it holds one Lance version.
It streams as Arrow batches, scans as a Polars LazyFrame, iterates as a torch
``IterableDataset`` (sharded across DataLoader workers by fragment), and exports
to Parquet or JSONL in a layout reward trainers read as it is (TRL, OpenRLHF, plain text).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import lance
import pyarrow as pa

from lake.store import Lake, empty_dataset

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True)
class Snapshot:
    """``table`` at one Lance ``version`` (``tag`` names it, when it was opened by tag).

    Version 0 is a known table that was never written: it reads as empty.
    """

    lake: Lake
    table: str
    version: int
    tag: str | None = None

    @property
    def dataset(self) -> lance.LanceDataset:
        if self.version == 0:
            return empty_dataset(self.table)
        return lance.dataset(str(self.lake.path(self.table)), version=self.version)

    @property
    def ref(self) -> str:
        """How a run records what it read: ``table@tag`` or ``table@vN``."""
        return f"{self.table}@{self.tag}" if self.tag else f"{self.table}@v{self.version}"

    def count(self, filter: str | None = None) -> int:
        return self.dataset.count_rows(filter=filter)

    def to_batches(
        self,
        columns: list[str] | None = None,
        filter: str | None = None,
        batch_size: int = 8192,
    ) -> Iterator[pa.RecordBatch]:
        """Stream the snapshot as Arrow record batches (never the whole table in memory)."""
        yield from self.dataset.to_batches(columns=columns, filter=filter, batch_size=batch_size)

    def to_reader(self, columns: list[str] | None = None, filter: str | None = None) -> pa.RecordBatchReader:
        scanner = self.dataset.scanner(columns=columns, filter=filter)
        return scanner.to_reader()

    def scan(self) -> pl.LazyFrame:
        """A Polars LazyFrame over the snapshot (projection and filters push down to Lance)."""
        import polars as pl

        return pl.scan_pyarrow_dataset(self.dataset)

    def to_torch(self, columns: list[str] | None = None, batch_size: int = 1024) -> Any:
        """A torch ``IterableDataset`` yielding one dict per row; see :mod:`lake.torch_dataset`."""
        from lake.torch_dataset import SnapshotIterableDataset

        return SnapshotIterableDataset(self, columns=columns, batch_size=batch_size)

    def export(
        self,
        out_dir: str | Path,
        format: Literal["parquet", "jsonl"] = "parquet",
        layout: Literal["trl", "trl-implicit", "openrlhf", "text"] | None = None,
        margin: bool = False,
    ) -> Path:
        """Write the snapshot in a reward-trainer layout, with its dataset card; see :mod:`lake.export`."""
        from lake.export import export_snapshot

        return export_snapshot(self, out_dir, format, layout, margin)

    def describe(self) -> dict[str, Any]:
        return {"table": self.table, "version": self.version, "tag": self.tag, "ref": self.ref}


def open_snapshot(lake: Lake, table: str, at: int | str | None = None) -> Snapshot:
    """Open ``table`` at a version number, a tag (``round-3``), or the committed version."""
    ds = lake.dataset(table, at)
    tag = at if isinstance(at, str) and not at.isdigit() else None
    never_written = at is None and not lake.exists(table)
    return Snapshot(lake=lake, table=table, version=0 if never_written else ds.version, tag=tag)
