"""LLM stages on Ray: attributes, pre-checks and judge votes asked from actors, the call cache honoured.

What stays on the driver is the stage's own: which pairs (the selection), the judge's gate
(measured on gold first, in this process) and the write of the rows in one lake commit. The
calls go to a pool of actors as a :class:`RayRunner` (a ``runner`` of
:func:`pipelines.annotate.annotate_attributes`, :func:`pipelines.annotate.precheck.precheck` and
:func:`pipelines.annotate.judge_queue`): each actor builds the stage's backend once from its
config (the OpenAI-compatible HTTP client), then answers its batch of pairs with the stage's
:class:`~pipelines.annotate.callwork.CallWork`, exactly as the local runner does: a call
answered before, by either engine, is not paid for again, and every new answer is sent to the
cache the moment it arrives.

The lake's call cache (one SQLite file) is opened by one process only: a :class:`CacheServer`
actor pinned to the driver's node, started for the job. The actors look up a batch's keys in one
round trip and send each answer to it as it arrives (:class:`RemoteCache`), so on a cluster of
many nodes only the driver's host opens the file (SQLite's WAL needs every process that opens a
database on one host) and the actors' writes never contend. A batch's rows leave the actor only
once the server has committed all of its answers; an actor that dies loses at most the answers
still in flight to the server, and the retry of its batch finds the rest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lake import Lake
from pipelines.annotate import data
from pipelines.annotate.cache import CallCache
from pipelines.annotate.callwork import CallWork, Rows
from pipelines.annotate.llm import ChatBackend, LLMConfig, make_backend
from pipelines.scale.cluster import EngineConfig, ray_cluster
from pipelines.scale.job import Stage, map_table

PAID = "_n_paid"  # the column each actor adds: calls it paid for, per row


class CacheServer:
    """The lake's call cache, opened once, in one actor on the driver's node; the stage's actors ask it."""

    def __init__(self, lake_root: str) -> None:
        self.cache = CallCache.for_lake(lake_root)

    def get_many(self, keys: list[str]) -> dict[str, str]:
        return self.cache.get_many(keys)

    def put(self, key: str, output: str, fields: dict[str, str]) -> None:
        self.cache.put(key, output, **fields)

    def where(self) -> tuple[str, int]:
        """(node id, process id): where the cache file is open."""
        import ray

        return ray.get_runtime_context().get_node_id(), os.getpid()

    def close(self) -> None:
        self.cache.close()


class RemoteCache:
    """The call cache as an actor sees it: a batch's lookups in one round trip, each answer sent as it arrives.

    A store does not wait for the server (a round trip per answer would stall the actor's other
    requests); the server commits the answers in the order sent, and :meth:`flush` waits until all
    are committed: the actor returns its rows only after that.
    """

    def __init__(self, server: Any) -> None:
        self.server = server
        self.sent: list[Any] = []

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        import ray

        return ray.get(self.server.get_many.remote(list(keys)))

    def put(self, key: str, output: str, **fields: str) -> None:
        self.sent.append(self.server.put.remote(key, output, fields))

    def flush(self) -> None:
        import ray

        sent, self.sent = self.sent, []
        ray.get(sent)


@contextlib.contextmanager
def cache_server(lake_root: Path) -> Iterator[Any]:
    """A :class:`CacheServer` for the job, on this (the driver's) node; closed and stopped after it."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    server = ray.remote(num_cpus=0, scheduling_strategy=here)(CacheServer).remote(str(lake_root))
    try:
        ray.get(server.where.remote())  # started (and the file opened) before any actor asks
        yield server
    finally:
        with contextlib.suppress(Exception):  # a server that died has nothing left to close
            ray.get(server.close.remote())
        ray.kill(server)


class CallWorker:
    """One actor: the backend, built once, and the job's cache server; a batch of pairs in, the stage's rows out."""

    def __init__(self, llm: LLMConfig, cache: Any, work: CallWork, wanted: frozenset[str]) -> None:
        self.backend = make_backend(llm)
        self.cache = RemoteCache(cache)
        self.work, self.wanted = work, wanted

    def __call__(self, batch: pa.Table) -> pa.Table:
        pairs = {r["pair_id"]: r for r in batch.to_pylist() if r["pair_id"] in self.wanted}
        if not pairs:
            return output_schema(self.work).empty_table()
        rows, paid = self.work.answer(self.backend, self.cache, pairs)
        self.cache.flush()  # every answer of the batch committed before its rows leave the actor
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

    def __init__(self, config: EngineConfig, worker: type = CallWorker) -> None:
        self.config, self.worker = config, worker

    def __call__(self, lake: Lake, backend: ChatBackend, pair_ids: list[str], work: CallWork) -> tuple[Rows, int]:
        if not pair_ids:
            return [], 0
        with ray_cluster(self.config), cache_server(lake.root) as server:
            kwargs: dict[str, Any] = {
                "llm": llm_config(backend), "cache": server, "work": work, "wanted": frozenset(pair_ids),
            }  # fmt: skip
            stage = Stage(self.worker, kwargs, output_schema(work), columns=data.PAIR_COLUMNS)
            with map_table(lake, "pairs", stage, self.config) as results:
                table = results.read_all()
        paid = int(pc.sum(table.column(PAID)).as_py() or 0)
        return table.drop_columns([PAID]).to_pylist(), paid
