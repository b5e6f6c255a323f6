"""The benchmark ingest (``prefhouse ingest --as-benchmark``): benchmark files in, ``benchmark_prompts`` rows out.

The files are read through the layout registry (:func:`pipelines.ingest.registry.iter_items`: every
pair format and every benchmark layout, RM-Bench, RMB, RewardBench 2, PPE, ...), and one
``benchmark_prompts`` row is written per new (benchmark, first user turn), with the id of the first
item it came from (``item_id``) and of every item of this ingest that has it (``item_ids``). Rows
that do not parse, and a file's fault, go to ``quarantine`` as in a pairs ingest.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pyarrow as pa

from lake import Lake
from lake.benchmarks import BenchItem
from lake.ids import prompt_id
from lake.schemas import BENCHMARK_PROMPTS
from pipelines.ingest.files import Batch, FilePlan, with_fault_rows
from pipelines.ingest.known import KnownIds, known_ids
from pipelines.ingest.model import Rejected
from pipelines.ingest.quarantine import QuarantineLog
from pipelines.ingest.registry import iter_items


def write_benchmark(lake: Lake, txn: Any, batch: Batch) -> None:
    """Read every file of ``batch`` as benchmark items; stage the new prompts and quarantine rows in ``txn``."""
    quarantine = QuarantineLog(lake, txn, batch.names, batch.report, batch.id, batch.now)
    known = known_ids(lake, "benchmark_prompts", "prompt_id", batch.source)
    rows: dict[str, dict[str, Any]] = {}  # prompt_id -> its new benchmark_prompts row
    for plan in batch.plans():
        for item in with_fault_rows(plan, partial(iter_items, plan.path, plan.format, **batch.options)):
            batch.report.n_read += 1
            if isinstance(item, Rejected):
                quarantine.add(plan, item)
            else:
                _add(batch, known, rows, plan, item)
    new = pa.Table.from_pylist(list(rows.values()), schema=BENCHMARK_PROMPTS)
    if new.num_rows:
        old = _without_item_columns(lake)
        if old is None:
            txn.append("benchmark_prompts", new)
        else:  # written before benchmark_prompts had its item columns: rewrite it with them (null for the old rows)
            txn.overwrite("benchmark_prompts", pa.concat_tables([old, new]))
    quarantine.commit()


def _add(batch: Batch, known: KnownIds, rows: dict[str, dict[str, Any]], plan: FilePlan, item: BenchItem) -> None:
    """A new (benchmark, first user turn) becomes a row; a prompt met again in this ingest adds its item id."""
    first = item.first_prompt
    pid = prompt_id([{"role": "user", "content": first}])
    if pid in known:
        batch.report.n_duplicate += 1
        row = rows.get(pid)
        if row is not None:  # first met in this ingest (not in an earlier one)
            row["item_ids"].append(item.item_id)
        return
    known.add(pid)
    batch.report.n_accepted += 1
    rows[pid] = {
        "benchmark": plan.source, "prompt_id": pid, "prompt": first, "item_id": item.item_id,
        "item_ids": [item.item_id], "source_file": plan.name, "source_row": item.source_row,
        "ingest_batch_id": batch.id, "ingested_at": batch.now,
    }  # fmt: skip


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
