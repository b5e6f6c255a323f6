"""Who is verified: the gold, silver and queued pair sets, and the gold pairs' p.

Definitions agreed between areas: **gold** = a pair with a human verdict
(:func:`lake.labels.gold_verdicts`, the one rule);
**silver** = a vote in ``judge_labels`` from a judge (model and template) that the trust
rule trusts in that round's ``source_trust``, or a pair a published round kept with
``llm-judge`` provenance (``curated``); **queued** = in ``retrieval_queue`` (another round:
a re-run of round N replaces round N's own rows). Pure reads: sets of pair_ids.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import polars as pl

from lake import Lake, LakeError
from lake.sql import sql_string


def _frame(lake: Lake, table: str, columns: list[str], filter: str | None = None) -> pl.DataFrame:
    return pl.from_arrow(lake.dataset(table).to_table(columns=columns, filter=filter))  # type: ignore[return-value]


def silver_ids(lake: Lake) -> set[str]:
    from pipelines.trust.roles import trust_rows, with_trust

    votes = _frame(lake, "judge_labels", ["pair_id", "round", "model", "template_version"], "vote != 'invalid'")
    judges = [(r["round"], r["source_id"]) for r in with_trust(trust_rows(lake)) if r["source_kind"] == "judge"
              and r["is_trusted"]]  # fmt: skip
    gates = pl.DataFrame({"round": [r for r, _ in judges], "source_id": [s for _, s in judges]},
                         schema={"round": pl.Int32, "source_id": pl.String})  # fmt: skip
    keyed = votes.with_columns(source_id=pl.col("model") + "|" + pl.col("template_version"))
    trusted = keyed.join(gates, on=["round", "source_id"], how="semi")
    kept = _frame(lake, "curated", ["pair_id"], "label_provenance = 'llm-judge'")
    return set(trusted.get_column("pair_id").to_list()) | set(kept.get_column("pair_id").to_list())


def queued_ids(lake: Lake, round_: int) -> set[str]:
    return set(_frame(lake, "retrieval_queue", ["pair_id"], f"round != {int(round_)}").get_column("pair_id").to_list())


def latest_run(lake: Lake) -> str:
    """The current reward model: the one playing best or silver in the latest round
    (:func:`pipelines.trust.roles.round_rm`), else, outside rounds, the newest best or silver run trained."""
    from pipelines.trust.roles import round_rm

    run = round_rm(lake, None, ("best", "silver"))
    if run is not None:
        return run
    runs = _frame(lake, "rm_runs", ["run_id", "role", "created_at"], "role IN ('best', 'silver')")
    if runs.is_empty():
        raise LakeError(
            "no reward model run with role best or silver: train one (`prefhouse train --role silver`), "
            "or pass --run RUN_ID or --gold-probs FILE (a CSV of pair_id,p)"
        )
    return runs.sort(["created_at", "run_id"]).get_column("run_id")[-1]


def probs_from_run(lake: Lake, run_id: str, gold: set[str]) -> dict[str, float]:
    """p of every gold pair the run scored (its latest score if scored twice)."""
    scores = _frame(lake, "rm_scores", ["pair_id", "p", "scored_at"], f"run_id = {sql_string(run_id)}")
    if scores.is_empty():
        raise LakeError(f"rm_scores has no rows for run {run_id!r}: score gold with `prefhouse score --run RUN` first")
    latest = scores.sort(["pair_id", "scored_at"]).unique("pair_id", keep="last")
    return {pid: float(p) for pid, p in latest.select("pair_id", "p").iter_rows() if pid in gold}


def probs_from_csv(path: Path) -> dict[str, float]:
    """``pair_id,p`` rows (a header row is allowed); p must lie in [0, 1]."""
    out: dict[str, float] = {}
    with open(path, newline="") as fh:
        for line_no, row in enumerate(csv.reader(fh), start=1):
            if not row or (line_no == 1 and row[0].strip().lower() == "pair_id"):
                continue
            try:
                p = float(row[1])
            except (IndexError, ValueError):
                raise ValueError(f"{path}:{line_no}: expected `pair_id,p`, got {row!r}") from None
            if not 0.0 <= p <= 1.0 or math.isnan(p):
                raise ValueError(f"{path}:{line_no}: p={row[1]} is not a probability in [0, 1]")
            out[row[0].strip()] = p
    return out


def k_for(p: float, k_max: int = 8) -> int:
    """How many neighbours to retrieve for a gold pair the RM gives probability ``p``.

    ``k_max`` when the RM is wrong (p <= 0.5), else ``ceil(k_max * (1 - p))``. The product
    is rounded to 6 decimals first so float error (0.1 * 8 = 0.8000000000000002, or a
    float32 p) never pushes an exact integer up by one: p = 0.75 gives 2, not 3.
    """
    if p <= 0.5:
        return k_max
    return max(0, math.ceil(round(k_max * (1.0 - p), 6)))
