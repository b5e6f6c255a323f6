"""LLM stages on Ray: attributes, pre-checks and judge votes asked from actors, the call cache honoured.

What stays on the driver is the stage's own: which pairs (the selection), the judge's gate
(measured on gold first, in this process) and the write of the rows in one lake commit. The
calls go to a pool of actors as a :class:`RayRunner` (a ``runner`` of
:func:`pipelines.annotate.annotate_attributes`, :func:`pipelines.annotate.precheck.precheck` and
:func:`pipelines.annotate.judge_queue`): each actor builds the stage's backend once from its
config (the OpenAI-compatible HTTP client) and opens the lake's call cache, then answers its
batch of pairs with the stage's :class:`~pipelines.annotate.callwork.CallWork`, exactly as the
local runner does: a call answered before, by either engine, is not paid for again, and every
new answer is cached the moment it arrives.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lake import Lake
from pipelines.annotate import data
from pipelines.annotate.cache import CallCache
from pipelines.annotate.callwork import CallWork, Rows
from pipelines.annotate.llm import ChatBackend, LLMConfig, make_backend
from pipelines.scale.cluster import EngineConfig
from pipelines.scale.job import Stage, map_table

PAID = "_n_paid"  # the column each actor adds: calls it paid for, per row


class CallWorker:
    """One actor: the backend and the call cache, opened once; a batch of pairs in, the stage's rows out."""

    def __init__(self, llm: LLMConfig, lake_root: str, work: CallWork, wanted: frozenset[str]) -> None:
        self.backend = make_backend(llm)
        self.cache = CallCache.for_lake(lake_root)
        self.work, self.wanted = work, wanted

    def __call__(self, batch: pa.Table) -> pa.Table:
        pairs = {r["pair_id"]: r for r in batch.to_pylist() if r["pair_id"] in self.wanted}
        if not pairs:
            return output_schema(self.work).empty_table()
        rows, paid = self.work.answer(self.backend, self.cache, pairs)
        table = pa.Table.from_pylist(rows, schema=self.work.row_schema)
        per_row = [paid if i == 0 else 0 for i in range(table.num_rows)]  # the batch's count, on its first row
        return table.append_column(PAID, pa.array(per_row, pa.int64()))


def output_schema(work: CallWork) -> pa.Schema:
    """The rows an actor returns: the stage's table, plus the calls it paid for."""
    return work.row_schema.append(pa.field(PAID, pa.int64()))


def llm_config(backend: ChatBackend) -> LLMConfig:
    """The backend's config, for the actors to build their own (the endpoint's model already resolved)."""
    config = getattr(backend, "config", None)
    if not isinstance(config, LLMConfig):
        raise ValueError(f"the Ray engine rebuilds each LLM backend in its actors from a config; {backend!r} has none")
    return dataclasses.replace(config, model=backend.model)


class RayRunner:
    """Asks a stage's calls from Ray actors over the ``pairs`` table's Lance fragments."""

    engine = "ray"

    def __init__(self, config: EngineConfig) -> None:
        self.config = config

    def __call__(self, lake: Lake, backend: ChatBackend, pair_ids: list[str], work: CallWork) -> tuple[Rows, int]:
        if not pair_ids:
            return [], 0
        kwargs: dict[str, Any] = {
            "llm": llm_config(backend), "lake_root": str(lake.root), "work": work, "wanted": frozenset(pair_ids),
        }  # fmt: skip
        stage = Stage(CallWorker, kwargs, output_schema(work), columns=data.PAIR_COLUMNS)
        with map_table(lake, "pairs", stage, self.config) as results:
            table = results.read_all()
        paid = int(pc.sum(table.column(PAID)).as_py() or 0)
        return table.drop_columns([PAID]).to_pylist(), paid
