"""The method's batch pre-check for objective pairs: "is this single response correct?".

Each side of an objective pair is checked on its own (the model never sees the other
side, so it cannot compare); the answers go to ``prechecks`` and the labelling app shows
them as a hint. They are never a label.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pyarrow as pa

from lake import Lake
from lake.labels import gold_ids
from lake.reports import Counted
from lake.schemas import PRECHECKS
from pipelines.annotate import data
from pipelines.annotate.calls import Call, Outcome
from pipelines.annotate.callwork import CallRunner, CallWork, Pairs, engine_note, run_local
from pipelines.annotate.config import PrecheckConfig
from pipelines.annotate.llm.base import ChatBackend, ChatRequest, Sampling
from pipelines.annotate.prompts import clip, load_template, render_conversation
from pipelines.annotate.taxonomy import PRECHECK_SCHEMA

VERDICT = {"correct": True, "incorrect": False, "unsure": None}


@dataclass
class PrecheckReport(Counted):
    """One pre-check run: pairs checked, and sides that got a verdict (not "unsure", not invalid)."""

    model: str
    n_pairs: int = 0
    n_checked: int = 0


@dataclass
class PrecheckRoundReport(Counted):
    """A round's pre-check: the human queue's objective pairs, and gold's (so that it can be measured)."""

    model: str
    queued_pairs: int = 0
    gold_pairs: int = 0
    checked: int = 0  # sides with a verdict, both sets


def select_pairs(lake: Lake, cfg: PrecheckConfig) -> list[str]:
    objective = {p for p, a in data.load_attributes(lake).items() if a["objectivity"] == "objective"}
    if cfg.pair_ids is not None:
        ids = [pid for pid in cfg.pair_ids if pid in objective]
    elif cfg.all_objective:
        ids = sorted(objective)
    else:
        queue = data.queue_rows(lake, cfg.round, "human") or data.queue_rows(lake, cfg.round)
        ids = [r["pair_id"] for r in queue if r["pair_id"] in objective]
    return ids[: cfg.limit] if cfg.limit is not None else ids


def _calls(pairs: Pairs, cfg: PrecheckConfig) -> list[Call]:
    """Each side of each pair checked on its own: two calls a pair."""
    template = load_template(cfg.template)
    calls = []
    for p in pairs.values():
        conversation = clip(render_conversation(p["conversation"]), cfg.max_chars)
        for side in ("chosen", "rejected"):
            messages = template.messages(conversation=conversation, response=clip(p[side], cfg.max_chars))
            req = ChatRequest(messages, Sampling(max_tokens=cfg.max_tokens), PRECHECK_SCHEMA)
            calls.append(Call(p["pair_id"], side, template.version, req, meta={"side": side}))
    return calls


def _rows(outcomes: list[Outcome], model: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "pair_id": o.call.pair_id,
            "side": o.call.meta["side"],
            "is_correct": VERDICT[o.value["verdict"]] if o.value else None,
            "rationale": o.value["rationale"] if o.value else f"no valid answer: {o.error}",
            "model": model,
            "template_version": o.call.template_version,
            "checked_at": now,
        }
        for o in outcomes
    ]


def precheck_work(cfg: PrecheckConfig) -> CallWork:
    """The stage's calls and rows (for any runner)."""
    return CallWork(partial(_calls, cfg=cfg), _rows, PRECHECK_SCHEMA, PRECHECKS, 1, "precheck")


def precheck(lake: Lake, backend: ChatBackend, cfg: PrecheckConfig, runner: CallRunner = run_local) -> PrecheckReport:
    """Pre-check the selected objective pairs (``runner``: where the calls are asked); one commit."""
    with lake.reading_at():  # the selection and the pairs the runner reads: one commit
        pair_ids = select_pairs(lake, cfg)
        rows, _ = runner(lake, backend, pair_ids, precheck_work(cfg))
    n_pairs = len({r["pair_id"] for r in rows})
    if rows:
        with lake.transaction(f"precheck: {n_pairs} pairs by {backend.model}{engine_note(runner)}") as txn:
            txn.upsert(
                "prechecks",
                pa.Table.from_pylist(rows, schema=PRECHECKS),
                ["pair_id", "side", "model", "template_version"],
            )
    return PrecheckReport(backend.model, n_pairs, sum(r["is_correct"] is not None for r in rows))


def precheck_round(lake: Lake, backend: ChatBackend, rnd: int, runner: CallRunner = run_local) -> PrecheckRoundReport:
    """Pre-check round ``rnd``'s human queue, and every objective gold pair (Trust measures it there)."""
    queued = precheck(lake, backend, PrecheckConfig(round=rnd), runner)
    measured = precheck(lake, backend, PrecheckConfig(round=rnd, pair_ids=sorted(gold_ids(lake))), runner)
    return PrecheckRoundReport(backend.model, queued.n_pairs, measured.n_pairs, queued.n_checked + measured.n_checked)
