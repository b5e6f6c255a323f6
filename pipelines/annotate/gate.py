"""Judges are measured before they are trusted, the way they vote: on gold, both orders, with
demonstrations and their self-consistency samples.

Each measured gold pair is shown ``samples`` times in each order (chosen first and chosen
second), with the same guideline and, as demonstrations, its nearest *other* gold pairs (never
itself: that would leak the answer), as a queued pair is shown its gold anchors. The judge's
verdict on the pair is the majority of all those votes (a tie or invalid answers count as
wrong). Stored: the ``judge_gates`` row (details) and the judge's ``source_trust`` row: n,
accuracy with its 95% interval, the share of valid votes for the first-shown candidate and the
both-orders consistency (the majority with chosen first equals the one with chosen second).
Whether the judge may vote is the one trust rule (:class:`lake.rules.TrustRule`); an untrusted
judge is skipped in that round.
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from lake import Lake
from lake.rules import TrustRule
from lake.schemas import JUDGE_GATES, SOURCE_TRUST
from lake.sql import sql_string
from pipelines.annotate import data
from pipelines.annotate.cache import CallCache
from pipelines.annotate.calls import run_calls
from pipelines.annotate.config import GateConfig
from pipelines.annotate.judge import MAX_DEMOS, JudgeConfig, build_call, model_verdict, position_bias, vote_of
from pipelines.annotate.llm.base import ChatBackend
from pipelines.annotate.taxonomy import JUDGE_SCHEMA

log = logging.getLogger(__name__)


def judge_source_id(model: str, template: str) -> str:
    """The judge's key in ``source_trust`` (votes carry model and template; sampling is in measured_on)."""
    return f"{model}|{template}"


def _demonstrations(lake: Lake, ids: list[str], gold: dict[str, str], k: int) -> dict[str, list[dict[str, Any]]]:
    """Each measured gold pair's nearest other gold pairs, as the judges' demonstrations (none without vectors)."""
    from pipelines.retrieval.anchors import gold_anchors

    anchors = gold_anchors(lake, ids, min(k, MAX_DEMOS))
    need = sorted({a["gold_pair_id"] for links in anchors.values() for a in links})
    pairs, attrs = data.load_pairs(lake, need), data.load_attributes(lake, need)
    return {
        pid: [{"pair": pairs[a["gold_pair_id"]], "verdict": gold[a["gold_pair_id"]],
               "attributes": attrs.get(a["gold_pair_id"])} for a in links if a["gold_pair_id"] in pairs]
        for pid, links in anchors.items()
    }  # fmt: skip


def measure(lake: Lake, backend: ChatBackend, round: int, judge_cfg: JudgeConfig, cfg: GateConfig) -> dict[str, Any]:
    """Measure one judge on gold, store its ``judge_gates`` and ``source_trust`` rows, return the gate row."""
    gold = data.gold_verdicts(lake)
    everyone = sorted(gold)
    ids = everyone
    if len(everyone) > cfg.max_gold:
        ids = sorted(random.Random(cfg.gold_seed).sample(everyone, cfg.max_gold))
    pairs, attrs = data.load_pairs(lake, ids), data.load_attributes(lake, ids)
    demos = _demonstrations(lake, ids, gold, judge_cfg.max_demos)
    calls = [
        build_call(pairs[p], attrs.get(p), demos.get(p, []), s, first, judge_cfg, variant_prefix="gate")
        for p in pairs
        for s in range(judge_cfg.samples)
        for first in (True, False)
    ]
    cache = CallCache.for_lake(lake.root)
    try:
        outcomes = run_calls(backend, cache, calls, JUDGE_SCHEMA, judge_cfg.max_invalid_retries, desc="gate")
    finally:
        cache.close()
    votes = [
        {"pair_id": o.call.pair_id, "vote": vote_of(o), "is_chosen_shown_first": o.call.meta["chosen_first"],
         "truth": gold[o.call.pair_id]}
        for o in outcomes
    ]  # fmt: skip
    row = gate_row(votes, round, backend.model, judge_cfg.template)
    trust = trust_of(votes, round, backend.model, judge_cfg)
    row["is_trusted"] = TrustRule.default().apply(pa.Table.from_pylist([trust], schema=SOURCE_TRUST))[0]
    row["reason"] = ("trusted: " if row["is_trusted"] else "not trusted: ") + row["reason"]
    with lake.transaction(f"judge gate: {backend.model} round {round}") as txn:
        gates = pa.Table.from_pylist([row], schema=JUDGE_GATES)
        txn.upsert("judge_gates", gates, ["round", "model", "template_version"])
        trust["role"] = ""
        txn.upsert("source_trust", pa.Table.from_pylist([trust], schema=SOURCE_TRUST),
                   ["round", "source_kind", "source_id", "role"])  # fmt: skip
    log.info("judge gate %s: %s", backend.model, row["reason"])
    return row


def _acc(votes: list[dict[str, Any]]) -> float:
    return sum(v["vote"] == v["truth"] for v in votes) / len(votes) if votes else 0.0


def trust_of(votes: list[dict[str, Any]], round: int, model: str, judge_cfg: JudgeConfig) -> dict[str, Any]:
    """The judge's ``source_trust`` row from (pair, vote, order, truth) rows: a pure function."""
    from pipelines.trust.measure import trust_row

    by_pair: dict[str, list[dict[str, Any]]] = {}
    for v in votes:
        by_pair.setdefault(v["pair_id"], []).append(v)
    correct = consistent = 0
    for vs in by_pair.values():
        correct += model_verdict([v["vote"] for v in vs]) == vs[0]["truth"]
        first = model_verdict([v["vote"] for v in vs if v["is_chosen_shown_first"]])
        second = model_verdict([v["vote"] for v in vs if not v["is_chosen_shown_first"]])
        consistent += first is not None and first == second
    n = len(by_pair)
    how = (f"{judge_cfg.samples} sample(s) per order at temperature "
           f"{judge_cfg.temperature if judge_cfg.samples > 1 else 0.0}, both orders, up to {judge_cfg.max_demos} "
           "nearest other gold pairs as demonstrations; verdict = majority of the votes")  # fmt: skip
    return trust_row(
        round, "judge", judge_source_id(model, judge_cfg.template), correct, n, how,
        first_shown_share=position_bias(votes), both_orders_consistency=consistent / n if n else None,
    )  # fmt: skip


def gate_row(votes: list[dict[str, Any]], round: int, model: str, template: str) -> dict[str, Any]:
    """The ``judge_gates`` detail row from (vote, order, truth) rows: a pure function."""
    n_gold = len({v.get("pair_id", i) for i, v in enumerate(votes)}) if votes else 0
    acc = _acc(votes)
    bias = position_bias(votes)
    rule = TrustRule.default()
    return {
        "round": round,
        "model": model,
        "template_version": template,
        "n_gold": n_gold,
        "accuracy": acc,
        "accuracy_chosen_first": _acc([v for v in votes if v["is_chosen_shown_first"]]),
        "accuracy_chosen_second": _acc([v for v in votes if not v["is_chosen_shown_first"]]),
        "position_bias": bias if bias is not None else float("nan"),
        "threshold": rule.min_lower,
        "is_trusted": False,
        "reason": f"vote accuracy {acc:.3f} on {n_gold} gold pairs; trust rule: {rule.describe()}"
        + (f"; picks the first-shown candidate {bias:.0%} of the time" if bias is not None else ""),
        "measured_at": datetime.now(UTC),
    }


def stored_gate(lake: Lake, round: int, model: str, template: str) -> dict[str, Any] | None:
    filt = f"round = {int(round)} AND model = {sql_string(model)} AND template_version = {sql_string(template)}"
    rows = data.read(lake, "judge_gates", None, filt).to_pylist()
    return rows[-1] if rows else None


def trusted_models(lake: Lake, round: int) -> list[str]:
    """Models marked trusted for ``round`` (for silver and the round runner)."""
    rows = data.read(lake, "judge_gates", ["model"], f"round = {int(round)} AND is_trusted").to_pylist()
    return sorted({r["model"] for r in rows})
