"""Rows of one table written to uncommitted data files as they come, joined to the table at the commit."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

SPOOL_ROWS = 1 << 18  # rows held in memory before they go to a data file


class Spool:
    """Rows of one table, written to uncommitted data files every ``rows`` rows.

    An ingest's sightings grow with its input (about 80 bytes a row, measured); holding them until the
    end made memory grow with the file. The staged files join the table as one version in the
    ingest's commit (:meth:`lake.store.Transaction.stage`).
    """

    def __init__(self, txn: Any, table: str, schema: pa.Schema, rows: int = SPOOL_ROWS) -> None:
        self.txn, self.table, self.schema, self.rows = txn, table, schema, rows
        self.parts: list[pa.Table] = []
        self.pending = self.total = 0

    def add(self, rows: pa.Table | pa.RecordBatch) -> None:
        if not rows.num_rows:
            return
        self.parts.append(rows if isinstance(rows, pa.Table) else pa.Table.from_batches([rows]))
        self.pending += rows.num_rows
        if self.pending >= self.rows:
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
