"""The rejected rows of one ingest: counted, a file's fault reported, each new one staged for ``quarantine``.

A quarantine row is keyed by (file, row, reason): one the lake (or this ingest) already holds is
counted but not written again, so a re-ingest adds none.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from lake import Lake
from lake.records import record_batch
from lake.schemas import QUARANTINE
from pipelines.ingest.files import FilePlan
from pipelines.ingest.known import known_keys
from pipelines.ingest.model import FILE_FAULTS, Rejected
from pipelines.ingest.report import IngestReport
from pipelines.ingest.spool import SPOOL_ROWS, Spool

ROW_FIELDS = ("source", "source_file", "source_row", "reason", "detail", "raw")  # of each held row
HELD_ROWS = 8192  # rows held before they go to the spool (a file of bad rows must not fill memory)


class QuarantineLog:
    """Every rejected row of one ingest (see the module docstring)."""

    def __init__(self, lake: Lake, txn: Any, names: list[str], report: IngestReport, batch_id: str, now: datetime,
                 spool_rows: int = SPOOL_ROWS) -> None:  # fmt: skip
        self.report, self.batch_id, self.now = report, batch_id, now
        self.known = known_keys(lake, "quarantine", ["source_file", "source_row", "reason"], names)
        self.rows: list[tuple[Any, ...]] = []
        self.spool = Spool(txn, "quarantine", QUARANTINE, spool_rows)
        self.reasons: Counter[str] = Counter()

    def add(self, plan: FilePlan, item: Rejected) -> None:
        self.report.n_quarantined += 1
        self.reasons[item.reason] += 1
        if item.reason in FILE_FAULTS:
            self.report.faults.append({"path": plan.entry["path"], "reason": item.reason, "row": item.source_row,
                                       "byte": item.offset, "detail": item.detail})  # fmt: skip
            plan.entry["fault"] = item.reason
        key = (plan.name, item.source_row, item.reason)
        if key in self.known:
            return
        self.known.add(key)
        self.rows.append((plan.source, plan.name, item.source_row, item.reason, item.detail, item.raw))
        if len(self.rows) >= HELD_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            columns = dict(zip(ROW_FIELDS, (list(c) for c in zip(*self.rows, strict=True)), strict=True))
            meta = {"ingest_batch_id": self.batch_id, "quarantined_at": self.now}
            self.spool.add(record_batch(QUARANTINE, columns | meta, len(self.rows)))
            self.rows = []

    def commit(self) -> None:
        """Write what is left; the report gets its reasons and the number of new rows."""
        self._flush()
        self.report.reasons = dict(sorted(self.reasons.items()))
        self.report.n_new_quarantine = self.spool.commit()
