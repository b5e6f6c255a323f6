"""What an annotator sees next: the human queue, objective and low-controversy pairs first.

The queue is the round's ``retrieval_queue`` rows routed to humans; when there are none,
every pair without a human label. Pairs the annotator already answered are left out.
The two responses are shown in an order fixed per (annotator, pair), so the server needs
no session state to map the answer "A" back to chosen or rejected after a restart.
"""

from __future__ import annotations

import hashlib
from typing import Any

from lake import Lake
from pipelines.annotate import data

OBJECTIVITY_RANK = {"objective": 0, "subjective": 1}
CONTROVERSY_RANK = {"low": 0, "medium": 1, "high": 2}


def chosen_shown_first(annotator: str, pair_id: str) -> bool:
    return hashlib.blake2b(f"{annotator}\x00{pair_id}".encode(), digest_size=1).digest()[0] % 2 == 0


def candidate_ids(lake: Lake, round: int | None) -> list[str]:
    queued = [r["pair_id"] for r in data.queue_rows(lake, round, "human")]
    if queued:
        return queued
    labelled = set(data.read(lake, "human_labels", ["pair_id"])["pair_id"].to_pylist())
    return [p for p in data.read(lake, "pairs", ["pair_id"])["pair_id"].to_pylist() if p not in labelled]


def ordered_queue(lake: Lake, annotator: str, round: int | None) -> list[str]:
    """Pair ids left for ``annotator``, best first."""
    done = set(data.read(lake, "human_labels", ["pair_id"], f"annotator = '{_q(annotator)}'")["pair_id"].to_pylist())
    ids = [p for p in candidate_ids(lake, round) if p not in done]
    attrs = data.load_attributes(lake, ids) if ids else {}

    def key(pid: str) -> tuple[int, int, str]:
        a = attrs.get(pid) or {}
        return OBJECTIVITY_RANK.get(a.get("objectivity"), 2), CONTROVERSY_RANK.get(a.get("controversiality"), 3), pid

    return sorted(ids, key=key)


def _q(text: str) -> str:
    return text.replace("'", "''")


def item_for(lake: Lake, annotator: str, pair_id: str) -> dict[str, Any]:
    """The JSON the page shows: never the label, only the two responses as A and B."""
    pair = data.load_pairs(lake, [pair_id])[pair_id]
    first = chosen_shown_first(annotator, pair_id)
    sides = ("chosen", "rejected") if first else ("rejected", "chosen")
    attrs = data.load_attributes(lake, [pair_id]).get(pair_id)
    checks = data.read(lake, "prechecks", ["side", "is_correct", "rationale"], f"pair_id = '{_q(pair_id)}'")
    by_side = {r["side"]: r for r in checks.to_pylist()}
    hint = {letter: by_side.get(side) for letter, side in zip("AB", sides, strict=True) if side in by_side}
    return {
        "pair_id": pair_id,
        "conversation": pair["conversation"],
        "responses": {"A": pair[sides[0]], "B": pair[sides[1]]},
        "attributes": None
        if attrs is None
        else {
            k: attrs[k] for k in ("task_category", "objectivity", "controversiality", "desired_attributes", "guideline")
        },
        "precheck": {k: {"is_correct": v["is_correct"], "rationale": v["rationale"]} for k, v in hint.items()},
    }


def verdict_for(annotator: str, pair_id: str, answer: str) -> tuple[str, bool]:
    """Map the page's answer (A | B | discard) to (verdict relative to the stored pair, chosen shown first)."""
    first = chosen_shown_first(annotator, pair_id)
    if answer == "discard":
        return "discard", first
    if answer not in ("A", "B"):
        raise ValueError(f"answer {answer!r} is not A, B or discard")
    return ("chosen" if (answer == "A") == first else "rejected"), first
