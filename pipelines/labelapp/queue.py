"""What an annotator sees next: the human queue, objective and low-controversy pairs first.

The queue is the round's ``retrieval_queue`` rows routed to humans; when there are none,
every pair without a human label. Pairs the annotator already answered are left out.
The two responses are shown in an order fixed per (annotator, pair), so the server needs
no session state to map the answer "A" back to chosen or rejected after a restart. The
order is an HMAC of (annotator, pair_id) under a random secret kept in the lake root
(``_labelapp_secret``, mode 0600, made on first use): stable across restarts of the app
for one lake, but not predictable by anyone who cannot read that file (pair ids are
content hashes, so an unkeyed hash would let an outsider work out which letter is chosen).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lake import Lake
from lake.labels import gold_ids
from lake.reports import Counted
from lake.sql import sql_string
from pipelines.annotate import data

OBJECTIVITY_RANK = {"objective": 0, "subjective": 1}
CONTROVERSY_RANK = {"low": 0, "medium": 1, "high": 2}


@dataclass
class LabelState(Counted):
    """Where the humans stand in a round: gold pairs, labels given this round, queued pairs still open."""

    gold_pairs: int = 0
    labels_this_round: int = 0
    human_queue_open: int = 0

    def message(self) -> str:
        n = self.human_queue_open
        return f"{n} queued pairs wait for annotators (`prefhouse label serve`)" if n else ""


def label_state(lake: Lake, rnd: int) -> LabelState:
    """Gold pairs, the human labels of round ``rnd``, and its human-routed queue's pairs without gold."""
    gold = gold_ids(lake)
    labelled = lake.dataset("human_labels").count_rows(filter=f"round = {int(rnd)}")
    queued = lake.dataset("retrieval_queue").to_table(
        columns=["pair_id"], filter=f"round = {int(rnd)} and route = 'human'"
    )
    return LabelState(len(gold), labelled, len(set(queued.column("pair_id").to_pylist()) - gold))


SECRET_FILE = "_labelapp_secret"
SECRET_BYTES = 32


def order_key(lake: Lake) -> bytes:
    """The lake's secret for the A/B order; made (atomically, mode 0600) on first use."""
    path = Path(lake.root) / SECRET_FILE
    if not path.exists():
        _create_secret(path)
    with contextlib.suppress(OSError):  # a copied lake may have lost the mode: keep the secret private
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError as exc:
        raise ValueError(f"{path} is not a hex secret: delete it to make a new one") from exc
    if len(key) < SECRET_BYTES:
        raise ValueError(f"{path} holds a secret shorter than {SECRET_BYTES} bytes: delete it to make a new one")
    return key


def _create_secret(path: Path) -> None:
    # written whole under a temporary name, then linked into place: a concurrent reader never sees
    # a half-written file, and when two processes race, the first link wins and both use that one
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(SECRET_BYTES) + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def chosen_shown_first(key: bytes, annotator: str, pair_id: str) -> bool:
    """Whether ``annotator`` sees the chosen response as A: one bit of HMAC-SHA256(key, annotator, pair_id)."""
    digest = hmac.new(key, f"{annotator}\x00{pair_id}".encode(), hashlib.sha256).digest()
    return digest[0] % 2 == 0


def candidate_ids(lake: Lake, round: int | None) -> list[str]:
    queued = [r["pair_id"] for r in data.queue_rows(lake, round, "human")]
    if queued:
        return queued
    labelled = set(data.read(lake, "human_labels", ["pair_id"])["pair_id"].to_pylist())
    return [p for p in data.read(lake, "pairs", ["pair_id"])["pair_id"].to_pylist() if p not in labelled]


def ordered_queue(lake: Lake, annotator: str, round: int | None) -> list[str]:
    """Pair ids left for ``annotator``, best first."""
    mine = data.read(lake, "human_labels", ["pair_id"], f"annotator = {sql_string(annotator)}")
    done = set(mine["pair_id"].to_pylist())
    ids = [p for p in candidate_ids(lake, round) if p not in done]
    attrs = data.load_attributes(lake, ids) if ids else {}

    def key(pid: str) -> tuple[int, int, str]:
        a = attrs.get(pid) or {}
        return OBJECTIVITY_RANK.get(a.get("objectivity"), 2), CONTROVERSY_RANK.get(a.get("controversiality"), 3), pid

    return sorted(ids, key=key)


def item_for(lake: Lake, annotator: str, pair_id: str) -> dict[str, Any]:
    """The JSON the page shows: never the label, only the two responses as A and B."""
    pair = data.load_pairs(lake, [pair_id])[pair_id]
    first = chosen_shown_first(order_key(lake), annotator, pair_id)
    sides = ("chosen", "rejected") if first else ("rejected", "chosen")
    attrs = data.load_attributes(lake, [pair_id]).get(pair_id)
    checks = data.read(lake, "prechecks", ["side", "is_correct", "rationale"], f"pair_id = {sql_string(pair_id)}")
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


def verdict_for(lake: Lake, annotator: str, pair_id: str, answer: str) -> tuple[str, bool]:
    """Map the page's answer (A | B | discard) to (verdict relative to the stored pair, chosen shown first)."""
    return verdict_given(chosen_shown_first(order_key(lake), annotator, pair_id), answer)


def verdict_given(first: bool, answer: str) -> tuple[str, bool]:
    """The verdict for ``answer`` when the chosen response was (``first``) or was not shown as A."""
    if answer == "discard":
        return "discard", first
    if answer not in ("A", "B"):
        raise ValueError(f"answer {answer!r} is not A, B or discard")
    return ("chosen" if (answer == "A") == first else "rejected"), first
