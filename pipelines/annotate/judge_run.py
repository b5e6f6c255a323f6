"""Run the judges over a round's queue: gate first, then vote, store, merge and report.

A model with no gate measurement for the round is measured first; an untrusted model is
skipped with its reason (its votes would not count as labels). The report has, per
model, the gate, the votes written and the position bias of this run, and the merged
verdict counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from lake import Lake
from lake.reports import Counted
from lake.schemas import JUDGE_LABELS
from pipelines.annotate import data, gate
from pipelines.annotate.calls import Call
from pipelines.annotate.callwork import CallRunner, CallWork, engine_note, run_local
from pipelines.annotate.judge import (
    JudgeConfig,
    build_call,
    chosen_first,
    demonstrations,
    merge_votes,
    position_bias,
    vote_rows,
    write_votes,
)
from pipelines.annotate.llm.base import ChatBackend
from pipelines.annotate.taxonomy import JUDGE_SCHEMA

log = logging.getLogger(__name__)
GATE_FIELDS = ("accuracy", "position_bias", "n_gold", "is_trusted", "reason")


@dataclass
class JudgeModelReport:
    """One judge in one run: its gate on gold and, when trusted, the votes it cast."""

    gate: dict[str, Any]  # accuracy, position_bias, n_gold, is_trusted, reason
    n_votes: int | None = None
    n_invalid: int | None = None
    position_bias: float | None = None  # of this run's votes


@dataclass
class JudgeReport(Counted):
    """One judge run over a round's queue: each model's gate and votes, and the merged verdicts."""

    round: int
    merge: str
    n_queued: int = 0
    models: dict[str, JudgeModelReport] = field(default_factory=dict)
    trusted_models: list[str] = field(default_factory=list)
    n_merged: int = 0
    n_chosen: int = 0
    n_rejected: int = 0
    n_undecided: int = 0
    message: str = ""


def judge_queue(
    lake: Lake,
    backends: list[ChatBackend],
    cfg: JudgeConfig,
    gate_cfg: gate.GateConfig,
    runner: CallRunner = run_local,
) -> JudgeReport:
    """Gate every judge, let the trusted ones vote (``runner``: where the votes are asked), merge."""
    rnd = cfg.round if cfg.round is not None else data.latest_round(lake)
    if rnd is None:
        raise ValueError("the retrieval queue is empty: run `prefhouse retrieve` first (or pass --round N)")
    queue = data.queue_rows(lake, rnd, None if cfg.route == "all" else cfg.route)[: cfg.limit]
    report = JudgeReport(rnd, cfg.merge, len(queue))
    for backend in backends:
        row = gate.stored_gate(lake, rnd, backend.model, cfg.template) or gate.measure(
            lake, backend, rnd, cfg, gate_cfg
        )
        entry = JudgeModelReport({k: row.get(k) for k in GATE_FIELDS})
        report.models[backend.model] = entry
        if not row["is_trusted"]:
            log.warning("judge %s is not used for labels in round %d: %s", backend.model, rnd, row.get("reason"))
            continue
        report.trusted_models.append(backend.model)
        rows = vote(lake, backend, queue, rnd, cfg, runner)
        entry.n_votes, entry.n_invalid = len(rows), sum(r["vote"] == "invalid" for r in rows)
        entry.position_bias = position_bias(rows)
    votes = data.read(lake, "judge_labels", None, f"round = {int(rnd)}").to_pylist()
    merged = merge_votes([v for v in votes if v["template_version"] == cfg.template], cfg.merge, report.trusted_models)
    verdicts = [m["verdict"] for m in merged.values()]
    report.n_merged = len(merged)
    report.n_chosen, report.n_rejected, report.n_undecided = (verdicts.count(v) for v in ("chosen", "rejected", None))
    if not report.trusted_models:
        report.message = f"no trusted judge in round {rnd}: no pair gets an LLM label"
    return report


def vote_calls(
    pairs: dict[str, dict[str, Any]],
    attrs: dict[str, dict[str, Any]],
    demos: dict[str, list[dict[str, Any]]],
    cfg: JudgeConfig,
) -> list[Call]:
    """Every vote to ask for ``pairs``: ``cfg.samples`` per pair, each in its seeded order."""
    return [
        build_call(pairs[p], attrs.get(p), demos.get(p, []), s, chosen_first(cfg.seed, p, s), cfg)
        for p in pairs
        for s in range(cfg.samples)
    ]


def judge_work(lake: Lake, queue: list[dict[str, Any]], rnd: int, cfg: JudgeConfig, model: str) -> CallWork:
    """The votes' calls and rows for the queued pairs (their attributes and gold demonstrations read here)."""
    ids = [r["pair_id"] for r in queue]
    calls = partial(vote_calls, attrs=data.load_attributes(lake, ids), demos=demonstrations(lake, queue), cfg=cfg)
    rows = partial(vote_rows, round=rnd)
    return CallWork(calls, rows, JUDGE_SCHEMA, JUDGE_LABELS, cfg.max_invalid_retries, f"judge {model}")


def vote(
    lake: Lake, backend: ChatBackend, queue: list[dict[str, Any]], rnd: int, cfg: JudgeConfig, runner: CallRunner
) -> list[dict[str, Any]]:
    """One trusted judge's votes on the queue, asked by ``runner`` and written in one commit."""
    with lake.reading_at():  # the demonstrations and the pairs of one commit
        work = judge_work(lake, queue, rnd, cfg, backend.model)
        rows, _ = runner(lake, backend, [r["pair_id"] for r in queue], work)
    write_votes(lake, rows, f"judge: {len(rows)} votes by {backend.model}, round {rnd}{engine_note(runner)}")
    return rows
