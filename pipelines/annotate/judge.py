"""LLM judges: guideline, up to 8 gold demonstrations, then the target as Candidate 1 / 2.

For each queued pair and each judge model, ``samples`` votes are drawn (self-consistency),
each with the candidates in a seeded random order; every vote is kept in ``judge_labels``
with its order, model, sample and rationale. Only models that :mod:`gate` marked trusted
for the round vote; the others are skipped and the run says so. Votes merge per model by
majority over samples, then across models by a configurable rule (:func:`merge_votes`).
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from lake import Lake
from lake.schemas import JUDGE_LABELS
from pipelines.annotate import data
from pipelines.annotate.calls import Call, Outcome
from pipelines.annotate.config import JudgeConfig
from pipelines.annotate.llm.base import ChatRequest, Sampling
from pipelines.annotate.prompts import clip, load_template, render_conversation
from pipelines.annotate.taxonomy import JUDGE_SCHEMA
from pipelines.retrieval.config import MAX_DEMOS

log = logging.getLogger(__name__)
NO_GUIDELINE = "Prefer the response that better fulfils the user's request: correct, helpful, honest and harmless."


def chosen_first(seed: int, pair_id: str, sample: int) -> bool:
    """The seeded random order of one vote (stable across re-runs, so the cache hits)."""
    return random.Random(f"{seed}/{pair_id}/{sample}").random() < 0.5


def _task_fields(attrs: dict[str, Any] | None) -> dict[str, str]:
    if not attrs:
        return {"task_line": "unknown", "desired_attributes": "unknown", "guideline": NO_GUIDELINE}
    task = f"{attrs['task_category']} ({attrs['objectivity']}, {attrs['controversiality']} controversiality)"
    return {
        "task_line": task,
        "desired_attributes": "; ".join(attrs.get("desired_attributes") or []) or "unknown",
        "guideline": attrs.get("guideline") or NO_GUIDELINE,
    }


def _sides(pair: dict[str, Any], first_is_chosen: bool, limit: int) -> dict[str, str]:
    a, b = (pair["chosen"], pair["rejected"]) if first_is_chosen else (pair["rejected"], pair["chosen"])
    return {"candidate_1": clip(a, limit), "candidate_2": clip(b, limit)}


def render_demo(demo: dict[str, Any], cfg: JudgeConfig) -> str:
    """One gold pair with its attributes and the human verdict, in a seeded order."""
    pair, verdict = demo["pair"], demo["verdict"]
    first = chosen_first(cfg.seed, pair["pair_id"], -1)
    better = "1" if (verdict == "chosen") == first else "2"
    conversation = clip(render_conversation(pair["conversation"]), cfg.max_chars)
    return load_template(cfg.demo_template).text(
        conversation=conversation,
        better=better,
        **_task_fields(demo.get("attributes")),
        **_sides(pair, first, cfg.max_chars),
    )


def build_call(
    pair: dict[str, Any],
    attrs: dict[str, Any] | None,
    demos: list[dict[str, Any]],
    sample: int,
    first_is_chosen: bool,
    cfg: JudgeConfig,
    variant_prefix: str = "judge",
) -> Call:
    template = load_template(cfg.template)
    messages = template.messages(
        demonstrations="".join(render_demo(d, cfg) for d in demos[: min(cfg.max_demos, MAX_DEMOS)]),
        conversation=clip(render_conversation(pair["conversation"]), cfg.max_chars),
        **_task_fields(attrs),
        **_sides(pair, first_is_chosen, cfg.max_chars),
    )
    temperature = cfg.temperature if cfg.samples > 1 else 0.0
    sampling = Sampling(temperature=temperature, max_tokens=cfg.max_tokens, seed=cfg.seed + sample)
    order = "chosen-first" if first_is_chosen else "chosen-second"
    demo_ids = ",".join(d["pair"]["pair_id"][:8] for d in demos[: cfg.max_demos])
    return Call(
        pair["pair_id"],
        f"{variant_prefix}/s{sample}/{order}/d[{demo_ids}]",
        template.version,
        ChatRequest(messages, sampling, JUDGE_SCHEMA),
        meta={"sample": sample, "chosen_first": first_is_chosen, "n_demos": min(len(demos), cfg.max_demos)},
    )


def vote_of(o: Outcome) -> str:
    """``chosen`` | ``rejected`` relative to the stored pair, or ``invalid``."""
    if o.value is None:
        return "invalid"
    picked_first = o.value["better"] == "1"
    return "chosen" if picked_first == o.call.meta["chosen_first"] else "rejected"


def vote_rows(outcomes: list[Outcome], model: str, round: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "pair_id": o.call.pair_id,
            "round": round,
            "model": model,
            "template_version": o.call.template_version,
            "sample": o.call.meta["sample"],
            "is_chosen_shown_first": o.call.meta["chosen_first"],
            "vote": vote_of(o),
            "rationale": (o.value or {}).get("rationale"),
            "raw_output": o.raw,
            "n_demonstrations": o.call.meta["n_demos"],
            "judged_at": now,
        }
        for o in outcomes
    ]


def demonstrations(lake: Lake, queue: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """For each queued pair, its anchors as demonstrations (only anchors that are still gold)."""
    gold = data.gold_verdicts(lake)
    anchor_ids = sorted({a["gold_pair_id"] for r in queue for a in r["anchors"] if a["gold_pair_id"] in gold})
    pairs, attrs = data.load_pairs(lake, anchor_ids), data.load_attributes(lake, anchor_ids)
    out = {}
    for r in queue:
        ids = [a["gold_pair_id"] for a in sorted(r["anchors"], key=lambda a: a["rank"]) if a["gold_pair_id"] in pairs]
        out[r["pair_id"]] = [{"pair": pairs[g], "verdict": gold[g], "attributes": attrs.get(g)} for g in ids]
    return out


def write_votes(lake: Lake, rows: list[dict[str, Any]], message: str) -> int | None:
    if not rows:
        return None
    key = ["pair_id", "round", "model", "template_version", "sample"]
    with lake.transaction(message) as txn:
        version, _ = txn.upsert("judge_labels", pa.Table.from_pylist(rows, schema=JUDGE_LABELS), key)
    return version


def position_bias(rows: list[dict[str, Any]]) -> float | None:
    """Share of valid votes that went to the candidate shown first (0.5 is unbiased)."""
    valid = [r for r in rows if r["vote"] != "invalid"]
    if not valid:
        return None
    first = sum((r["vote"] == "chosen") == r["is_chosen_shown_first"] for r in valid)
    return first / len(valid)


def model_verdict(votes: list[str]) -> str | None:
    """Self-consistency: the majority of a model's valid votes; None on a tie or no valid vote."""
    c = Counter(v for v in votes if v != "invalid")
    if not c or c["chosen"] == c["rejected"]:
        return None
    return "chosen" if c["chosen"] > c["rejected"] else "rejected"


def merge_votes(rows: list[dict[str, Any]], rule: str, models: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Per pair: each model's verdict, then one merged verdict (None when the rule does not decide)."""
    by_pair: dict[str, dict[str, list[str]]] = {}
    for r in rows:
        if models is None or r["model"] in models:
            by_pair.setdefault(r["pair_id"], {}).setdefault(r["model"], []).append(r["vote"])
    out = {}
    for pid, per_model in by_pair.items():
        verdicts = {m: model_verdict(v) for m, v in per_model.items()}
        decided = [v for v in verdicts.values() if v is not None]
        c = Counter(decided)
        if rule == "pooled":  # every valid vote of every model in one pot, as a model's own samples are
            merged = model_verdict([v for votes in per_model.values() for v in votes])
        elif rule == "unanimous":
            merged = decided[0] if decided and len(c) == 1 and len(decided) == len(verdicts) else None
        elif rule == "any":
            merged = decided[0] if len(c) == 1 else None
        else:  # majority of the models that voted
            top = c.most_common()
            merged = top[0][0] if top and (len(top) == 1 or top[0][1] > top[1][1]) else None
        out[pid] = {"verdict": merged, "models": verdicts}
    return out
