"""Readers the annotation stages share: pairs, attributes, gold verdicts and the queue.

Small lookups by ``pair_id`` over the committed lake state; every stage reads through
these so "gold" and "attributes of a pair" mean the same thing everywhere.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lake import Lake
from lake.labels import gold_verdicts  # noqa: F401 (re-exported: the judges and the gate call data.gold_verdicts)
from lake.sql import sql_in, sql_string

PAIR_COLUMNS = ["pair_id", "conversation", "chosen", "rejected", "category"]


def read(lake: Lake, table: str, columns: list[str] | None = None, filter: str | None = None) -> pa.Table:
    return lake.dataset(table).to_table(columns=columns, filter=filter)


def load_pairs(lake: Lake, pair_ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Pairs by id (all pairs when ``pair_ids`` is None), in the order asked for."""
    if pair_ids is not None and not pair_ids:
        return {}
    filt = None if pair_ids is None else sql_in("pair_id", sorted(set(pair_ids)))
    rows = {r["pair_id"]: r for r in read(lake, "pairs", PAIR_COLUMNS, filt).to_pylist()}
    order = pair_ids if pair_ids is not None else sorted(rows)
    return {p: rows[p] for p in order if p in rows}


def load_attributes(lake: Lake, pair_ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """The latest ``ok`` attributes row per pair (any model or template)."""
    filt = "status = 'ok'" + ("" if pair_ids is None else " AND " + sql_in("pair_id", sorted(set(pair_ids) or {""})))
    table = read(lake, "attributes", None, filt)
    out: dict[str, dict[str, Any]] = {}
    for row in sorted(table.to_pylist(), key=lambda r: r["annotated_at"]):
        out[row["pair_id"]] = row
    return out


def latest_round(lake: Lake, table: str = "retrieval_queue") -> int | None:
    col = read(lake, table, ["round"])["round"]
    return None if len(col) == 0 else int(pc.max(col).as_py())


def queue_rows(lake: Lake, round: int | None, route: str | None = None) -> list[dict[str, Any]]:
    """Rows of ``retrieval_queue`` for a round (default: the latest), optionally one route."""
    rnd = latest_round(lake) if round is None else round
    if rnd is None:
        return []
    filt = f"round = {int(rnd)}" + (f" AND route = {sql_string(route)}" if route else "")
    rows = read(lake, "retrieval_queue", None, filt).to_pylist()
    return sorted(rows, key=lambda r: (-r["best_similarity"], r["pair_id"]))
