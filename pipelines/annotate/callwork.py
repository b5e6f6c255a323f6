"""An LLM stage's work on a set of pairs, separate from where it runs (this process, or Ray actors).

Attributes, pre-checks and judge votes share one shape: the stage turns pairs into calls, the
calls are answered through the lake's call cache (:func:`run_calls`), and the stage turns the
outcomes into the rows of its table, one row per call. :class:`CallWork` holds those two steps
(module-level functions with their settings bound, so the work pickles to a Ray actor);
a :data:`CallRunner` answers the work for a list of pair ids and returns the rows and the number
of calls that were paid for (not served by the cache). :func:`run_local` is this process's
runner; ``pipelines.scale.llm.ray_runner`` is the Ray one. The stage itself keeps the selection
of the pairs and the write of its rows, so both runners land the same rows in the same commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from lake import Lake
from pipelines.annotate import data
from pipelines.annotate.cache import Cache, CallCache
from pipelines.annotate.calls import Call, Outcome, run_calls
from pipelines.annotate.llm.base import ChatBackend

Pairs = dict[str, dict[str, Any]]  # pair id -> the pair's row (data.PAIR_COLUMNS)
Rows = list[dict[str, Any]]  # rows of the stage's table


@dataclass(frozen=True)
class CallWork:
    """The calls a stage asks for some pairs, and the rows it makes of their outcomes (one per call)."""

    calls: Callable[[Pairs], list[Call]]
    rows: Callable[[list[Outcome], str], Rows]  # (outcomes, model) -> rows
    answer_schema: dict[str, Any]  # the JSON schema every answer must meet
    row_schema: pa.Schema  # of the rows: the stage's table
    max_invalid_retries: int
    desc: str  # the progress bar's label

    def answer(self, backend: ChatBackend, cache: Cache, pairs: Pairs) -> tuple[Rows, int]:
        """(rows, calls paid) for ``pairs``: every call asked through the cache."""
        calls = self.calls(pairs)
        outcomes = run_calls(backend, cache, calls, self.answer_schema, self.max_invalid_retries, desc=self.desc)
        rows = self.rows(outcomes, backend.model)
        if len(rows) != len(outcomes):
            raise ValueError(f"{self.desc}: {len(rows)} rows for {len(outcomes)} calls (one row per call expected)")
        return rows, sum(o.n_paid for o in outcomes)


class CallRunner(Protocol):
    """Answers a stage's work for some pairs: (rows, calls paid). ``engine`` names where (commit messages)."""

    engine: str

    def __call__(self, lake: Lake, backend: ChatBackend, pair_ids: list[str], work: CallWork) -> tuple[Rows, int]: ...


class LocalRunner:
    """This process: the pairs read from the lake, the calls asked through the lake's call cache."""

    engine = "local"

    def __call__(self, lake: Lake, backend: ChatBackend, pair_ids: list[str], work: CallWork) -> tuple[Rows, int]:
        pairs = data.load_pairs(lake, pair_ids)
        cache = CallCache.for_lake(lake.root)
        try:
            return work.answer(backend, cache, pairs)
        finally:
            cache.close()


run_local = LocalRunner()


def engine_note(runner: CallRunner) -> str:
    """What a commit message adds for the engine: nothing locally, `` (ray)`` on Ray."""
    return "" if runner.engine == "local" else f" ({runner.engine})"
