"""Judges are measured before they are trusted: accuracy and position bias on gold, both orders.

Every gold pair is shown to the judge twice, chosen first and chosen second, with the same
guideline and no demonstrations (the demonstrations are gold themselves: showing them
would leak the answers). Accuracy counts an invalid answer as wrong. A model whose
accuracy is below the threshold, or that had too few gold pairs to measure, is stored
with ``is_trusted = false`` and its votes are not used for labels in that round.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from lake import Lake
from lake.schemas import JUDGE_GATES
from pipelines.annotate import data
from pipelines.annotate.cache import CallCache
from pipelines.annotate.calls import run_calls
from pipelines.annotate.judge import JudgeConfig, build_call, position_bias, vote_of
from pipelines.annotate.llm.base import ChatBackend
from pipelines.annotate.taxonomy import JUDGE_SCHEMA

log = logging.getLogger(__name__)


@dataclass
class GateConfig:
    """When a judge is trusted."""

    threshold: float = field(default=0.7, metadata={"help": "least accuracy on gold (both orders) to be trusted"})
    min_gold: int = field(default=10, metadata={"help": "fewest gold pairs a judge must be measured on"})
    max_gold: int = field(default=200, metadata={"help": "measure on at most N gold pairs (seeded sample)"})


def measure(lake: Lake, backend: ChatBackend, round: int, judge_cfg: JudgeConfig, cfg: GateConfig) -> dict[str, Any]:
    """Measure one judge on gold, store its ``judge_gates`` row, and return it."""
    gold = data.gold_verdicts(lake)
    ids = sorted(gold)[: cfg.max_gold]
    pairs, attrs = data.load_pairs(lake, ids), data.load_attributes(lake, ids)
    calls = [
        build_call(pairs[p], attrs.get(p), [], 0, first, judge_cfg, variant_prefix="gate")
        for p in pairs
        for first in (True, False)
    ]
    cache = CallCache.for_lake(lake.root)
    try:
        outcomes = run_calls(backend, cache, calls, JUDGE_SCHEMA, judge_cfg.max_invalid_retries, desc="gate")
    finally:
        cache.close()
    votes = [
        {"vote": vote_of(o), "is_chosen_shown_first": o.call.meta["chosen_first"], "truth": gold[o.call.pair_id]}
        for o in outcomes
    ]
    row = gate_row(votes, round, backend.model, judge_cfg.template, cfg)
    with lake.transaction(f"judge gate: {backend.model} round {round}") as txn:
        table = pa.Table.from_pylist([row], schema=JUDGE_GATES)
        txn.upsert("judge_gates", table, ["round", "model", "template_version"])
    log.info("judge gate %s: %s", backend.model, row["reason"])
    return row


def _acc(votes: list[dict[str, Any]]) -> float:
    return sum(v["vote"] == v["truth"] for v in votes) / len(votes) if votes else 0.0


def gate_row(votes: list[dict[str, Any]], round: int, model: str, template: str, cfg: GateConfig) -> dict[str, Any]:
    """The gate verdict from (vote, order, truth) triples: a pure function."""
    n_gold = len(votes) // 2
    acc = _acc(votes)
    bias = position_bias(votes)
    if n_gold < cfg.min_gold:
        trusted, reason = False, f"not trusted: only {n_gold} gold pairs (< {cfg.min_gold}) to measure it on"
    elif acc < cfg.threshold:
        trusted, reason = False, f"not trusted: accuracy {acc:.3f} on {n_gold} gold pairs < {cfg.threshold}"
    else:
        trusted, reason = True, f"trusted: accuracy {acc:.3f} on {n_gold} gold pairs >= {cfg.threshold}"
    return {
        "round": round,
        "model": model,
        "template_version": template,
        "n_gold": n_gold,
        "accuracy": acc,
        "accuracy_chosen_first": _acc([v for v in votes if v["is_chosen_shown_first"]]),
        "accuracy_chosen_second": _acc([v for v in votes if not v["is_chosen_shown_first"]]),
        "position_bias": bias if bias is not None else float("nan"),
        "threshold": cfg.threshold,
        "is_trusted": trusted,
        "reason": reason + (f"; picks the first-shown candidate {bias:.0%} of the time" if bias is not None else ""),
        "measured_at": datetime.now(UTC),
    }


def stored_gate(lake: Lake, round: int, model: str, template: str) -> dict[str, Any] | None:
    filt = f"round = {int(round)} AND model = '{model}' AND template_version = '{template}'"
    rows = data.read(lake, "judge_gates", None, filt).to_pylist()
    return rows[-1] if rows else None


def trusted_models(lake: Lake, round: int) -> list[str]:
    """Models marked trusted for ``round`` (for silver and the round runner)."""
    rows = data.read(lake, "judge_gates", ["model"], f"round = {int(round)} AND is_trusted").to_pylist()
    return sorted({r["model"] for r in rows})
