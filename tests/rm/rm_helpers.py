"""Helpers of the reward-model tests."""

from __future__ import annotations

from datetime import UTC, datetime


def add_human_labels(lake, pair_ids, verdict: str = "chosen") -> None:
    import pyarrow as pa

    from lake.schemas import HUMAN_LABELS

    now = datetime.now(UTC)
    rows = [
        {"label_id": f"l{i}", "pair_id": pid, "round": 0, "annotator": "t", "verdict": verdict,
         "is_chosen_shown_first": True, "note": None, "tools": [], "origin": "test", "labeled_at": now}
        for i, pid in enumerate(pair_ids)
    ]  # fmt: skip
    with lake.transaction("labels") as txn:
        txn.append("human_labels", pa.Table.from_pylist(rows, schema=HUMAN_LABELS))
