"""LLM judge votes as a Ray job: the local judge's calls, asked from actors, its call cache honoured.

The gate stays where it is (:func:`pipelines.annotate.judge_run.judge_queue` measures each judge
on gold first, in this process); only the votes of a trusted judge on the round's queue run on
Ray, as a ``voter``. The driver looks up each queued pair's attributes and gold demonstrations
(small) and hands them to every actor; each actor builds its backend once from the judge's
config (the OpenAI-compatible HTTP client) and opens the lake's call cache, then answers its
batch of pairs with the local engine's calls (:func:`vote_calls`, :func:`run_calls`): a call
answered before, by either engine, is not paid for again, and every new answer is cached the
moment it arrives. The votes land in ``judge_labels`` in one lake commit.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pyarrow as pa

from lake import Lake
from lake.schemas import JUDGE_LABELS
from pipelines.annotate import data
from pipelines.annotate.cache import CallCache
from pipelines.annotate.calls import run_calls
from pipelines.annotate.judge import JudgeConfig, demonstrations, vote_rows, write_votes
from pipelines.annotate.judge_run import Voter, vote_calls
from pipelines.annotate.llm import ChatBackend, LLMConfig, make_backend
from pipelines.annotate.taxonomy import JUDGE_SCHEMA
from pipelines.scale.cluster import EngineConfig
from pipelines.scale.job import Stage, map_table


class JudgeVoter:
    """One actor's judge: a backend and the call cache, opened once; pairs in, ``judge_labels`` rows out."""

    def __init__(
        self,
        llm: LLMConfig,
        lake_root: str,
        cfg: JudgeConfig,
        round: int,
        attrs: dict[str, dict[str, Any]],
        demos: dict[str, list[dict[str, Any]]],
    ) -> None:
        self.backend = make_backend(llm)
        self.cache = CallCache.for_lake(lake_root)
        self.cfg, self.round, self.attrs, self.demos = cfg, round, attrs, demos

    def __call__(self, batch: pa.Table) -> pa.Table:
        pairs = {r["pair_id"]: r for r in batch.to_pylist() if r["pair_id"] in self.demos}
        calls = vote_calls(pairs, self.attrs, self.demos, self.cfg)
        outcomes = run_calls(self.backend, self.cache, calls, JUDGE_SCHEMA, self.cfg.max_invalid_retries)
        return pa.Table.from_pylist(vote_rows(outcomes, self.backend.model, self.round), schema=JUDGE_LABELS)


def _llm_config(backend: ChatBackend) -> LLMConfig:
    config = getattr(backend, "config", None)
    if not isinstance(config, LLMConfig):
        raise ValueError(f"the Ray engine rebuilds each judge in its actors from an LLMConfig; {backend!r} has none")
    return dataclasses.replace(config, model=backend.model)  # the actors skip asking the endpoint for its model


def ray_voter(engine: EngineConfig) -> Voter:
    """A ``voter`` for :func:`judge_queue` that asks a judge's votes from Ray actors."""

    def vote(lake: Lake, backend: ChatBackend, queue: list[dict[str, Any]], rnd: int, cfg: JudgeConfig) -> list[dict]:
        ids = [r["pair_id"] for r in queue]
        with lake.reading_at():  # the demonstrations and the pairs of one commit
            demos = demonstrations(lake, queue)
            kwargs = {
                "llm": _llm_config(backend), "lake_root": str(lake.root), "cfg": cfg, "round": rnd,
                "attrs": data.load_attributes(lake, ids), "demos": {p: demos.get(p, []) for p in ids},
            }  # fmt: skip
            stage = Stage(JudgeVoter, kwargs, JUDGE_LABELS, columns=data.PAIR_COLUMNS)
            with map_table(lake, "pairs", stage, engine) as results:
                rows = results.read_all().to_pylist()
        write_votes(lake, rows, f"judge: {len(rows)} votes by {backend.model}, round {rnd} (ray)")
        return rows

    return vote
