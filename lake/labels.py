"""The one definition of a gold verdict, shared by the reward model, judges, retrieval and dbt.

The rule itself is the ``gold_verdicts_sql`` macro of ``dbt_project/macros/rules.sql``
(each annotator's latest label, annotators measured untrusted left out, majority share above
``human_min_agreement``); :mod:`lake.rules` renders it and DuckDB runs it here over the lake's
``human_labels``, the same text the dbt model ``int_human_labels_aggregated`` runs.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

LABEL_COLUMNS = ["label_id", "pair_id", "annotator", "verdict", "round", "labeled_at"]
TRUST_COLUMNS = ["round", "source_kind", "source_id", "n", "ci_low", "first_shown_share"]


def untrusted_annotators(trust: pa.Table, round: int | None = None) -> list[str]:
    """Annotators whose latest measurement (up to ``round``) fails the trust rule."""
    from lake.rules import TrustRule

    rows = [r for r in trust.to_pylist() if r["source_kind"] == "annotator" and (round is None or r["round"] <= round)]
    latest: dict[str, dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: r["round"]):
        latest[r["source_id"]] = r
    if not latest:
        return []
    table = pa.Table.from_pylist(list(latest.values()))
    trusted = TrustRule.default().apply(table)
    return sorted(name for name, ok in zip(latest, trusted, strict=True) if not ok)


def gold_table(labels: pa.Table, round: int | None = None, excluded: list[str] | None = None) -> pa.Table:
    """One row per labelled pair: counts, agreement, ``human_status`` and ``verdict`` (the macro's output)."""
    import duckdb

    from lake.rules import gold_sql

    con = duckdb.connect(config={"autoinstall_known_extensions": False, "threads": 1})
    try:
        con.register("human_labels_in", labels)
        return con.sql(gold_sql("human_labels_in", round, excluded)).to_arrow_table()
    finally:
        con.close()


def gold_verdicts(lake: Any, round: int | None = None) -> dict[str, str]:
    """Gold verdict per pair (``chosen`` | ``rejected``); splits, discards and unlabelled pairs have none."""
    if not lake.exists("human_labels"):
        return {}
    labels = lake.dataset("human_labels").to_table(columns=LABEL_COLUMNS)
    if labels.num_rows == 0:
        return {}
    excluded = []
    if lake.exists("source_trust"):
        excluded = untrusted_annotators(lake.dataset("source_trust").to_table(columns=TRUST_COLUMNS), round)
    table = gold_table(labels, round, excluded)
    return {
        pid: v
        for pid, v in zip(table["pair_id"].to_pylist(), table["verdict"].to_pylist(), strict=True)
        if v is not None
    }


def gold_ids(lake: Any) -> set[str]:
    """The pairs with a gold verdict (:func:`gold_verdicts`' keys)."""
    return set(gold_verdicts(lake))
