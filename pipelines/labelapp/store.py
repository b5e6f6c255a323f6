"""Writes of human labels: one append per answer, so nothing is lost if the server stops.

Labels are append-only rows (several annotators may label one pair; one annotator may
change their mind: the latest row wins for them); two annotators answering at once each
append their own row under the lake's writer lock, so neither overwrites the other.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from lake import Lake
from lake.schemas import HUMAN_LABELS

VERDICTS = ("chosen", "rejected", "discard")
TOOLS = ("search", "llm-assistant", "code-runner", "calculator", "other")


def label_row(
    pair_id: str,
    annotator: str,
    verdict: str,
    *,
    round: int = 0,
    is_chosen_shown_first: bool | None = None,
    note: str | None = None,
    tools: list[str] | None = None,
    origin: str = "app",
    labeled_at: datetime | None = None,
) -> dict[str, Any]:
    """One ``human_labels`` row; ``verdict`` is relative to the stored pair."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r} is not one of {VERDICTS}")
    if not annotator.strip():
        raise ValueError("an annotator name is required")
    return {
        "label_id": uuid.uuid4().hex,
        "pair_id": pair_id,
        "round": int(round),
        "annotator": annotator.strip(),
        "verdict": verdict,
        "is_chosen_shown_first": is_chosen_shown_first,
        "note": note or None,
        "tools": list(tools or []),
        "origin": origin,
        "labeled_at": labeled_at or datetime.now(UTC),
    }


def append_labels(lake: Lake, rows: list[dict[str, Any]], message: str = "") -> int | None:
    """Append labels in one lake commit; returns the new version."""
    if not rows:
        return None
    with lake.transaction(message or f"human labels: {len(rows)}") as txn:
        return txn.append("human_labels", pa.Table.from_pylist(rows, schema=HUMAN_LABELS))
