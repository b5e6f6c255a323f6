"""Gather a round's report data from the lake and the dbt DuckDB file into the plain dict
:func:`pipelines.report.render_report` takes.

The dbt marts hold the last build only, so a round's data are collected right after its
build (the round's ``report`` step) and saved as ``<lake>/_reports/round-N/data.json``;
``prefhouse report --round N`` re-renders from that file when the marts moved on.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lake import Lake
from lake.rules import TrustRule
from pipelines.report.plots import log_ratio

SAMPLE = 5000


def report_dir(lake: Lake, round: int) -> Path:
    return lake.root / "_reports" / f"round-{round}"


def _mart(db: Path, sql: str) -> list[dict[str, Any]]:
    from lake.sql import open_read_only

    with open_read_only(db) as con:
        rel = con.sql(sql)
        cols = rel.columns
        return [dict(zip(cols, row, strict=True)) for row in rel.fetchall()]


def _funnel(db: Path, round: int) -> list[dict[str, Any]]:
    rows = _mart(db, f"select step_kind, step, sum(n_pairs) as n from round_summary where round = {round} group by all")
    total = sum(r["n"] for r in rows if r["step_kind"] == "in")
    reasons = sorted((r for r in rows if r["step_kind"] == "reason"), key=lambda r: -r["n"])
    decisions = {r["step"]: int(r["n"]) for r in rows if r["step_kind"] == "decision"}
    out = [{"reason": "in", "n": int(total)}]
    out += [{"reason": r["step"], "n": int(r["n"])} for r in reasons]
    out += [
        {"reason": name, "n": decisions.get(d, 0)}
        for d, name in (("drop", "dropped"), ("flip", "flipped"), ("keep", "kept"))
    ]
    return out


def _margins(db: Path, round: int) -> dict[str, list[float]]:
    rows = _mart(
        db,
        f"select decision, coalesce(best_rm_margin, gold_rm_margin) as m from curated_pairs "
        f"where round = {round} and coalesce(best_rm_margin, gold_rm_margin) is not null",
    )
    return {
        "kept": [float(r["m"]) for r in rows if r["decision"] == "keep"],
        "dropped": [float(r["m"]) for r in rows if r["decision"] != "keep"],
    }


def _agreement(db: Path, round: int) -> list[dict[str, Any]]:
    """Per category: among pairs with any signal, the share no signal (human, judges, RMs) contradicts."""
    rows = _mart(
        db,
        f"""select coalesce(task_category, 'unknown') as category, count(*) as n,
               avg((not 'disagree' in (human_status, judge_status, gold_rm_status, best_rm_status))::double) as a
            from curated_pairs
            where round = {round} and 'agree' in (human_status, judge_status, gold_rm_status, best_rm_status)
               or round = {round} and 'disagree' in (human_status, judge_status, gold_rm_status, best_rm_status)
            group by 1""",
    )
    return [{"category": r["category"], "agreement": float(r["a"]), "n": int(r["n"])} for r in rows]


def _changes(db: Path, round: int) -> list[dict[str, Any]]:
    """What the round decided, on whose evidence: pairs per decision, rule and provenance."""
    rows = _mart(
        db,
        f"""select decision, decision_rule, coalesce(label_provenance, '-') as provenance, count(*) as n
            from curated_pairs where round = {round} group by all order by n desc""",
    )
    return [{**r, "n": int(r["n"])} for r in rows]


def _trust(lake: Lake, round: int) -> list[dict[str, Any]]:
    """Every source measured up to ``round`` with its trust by the rule, for the trust table."""
    from pipelines.trust.roles import trust_rows, why, with_trust

    rule = TrustRule.default()
    rows = [r for r in with_trust(trust_rows(lake), rule) if r["round"] <= round]
    keep = ("round", "source_kind", "source_id", "role", "n", "accuracy", "ci_low", "ci_high", "first_shown_share",
            "both_orders_consistency", "accuracy_longer_rejected", "longer_wins_agreement", "label_basis",
            "measured_on", "is_trusted")  # fmt: skip
    out = [{k: r.get(k) for k in keep} | {"why": why(r, rule)} for r in rows]
    return sorted(out, key=lambda r: (r["round"], r["source_kind"], r["source_id"]))


def _deciding(db: Path, round: int) -> list[dict[str, Any]]:
    """The trusted sources the round's dbt build voted with (its rule, its vars), and where each was measured."""
    return _mart(
        db,
        f"""select source_kind, source_id, role, measured_in_round from label_source_trust
            where round = {round} and is_trusted and (source_kind <> 'rm' or plays_role_this_round)
            order by source_kind, source_id, role""",
    )


def _voting(lake: Lake, round: int) -> list[dict[str, Any]]:
    """Without the round's marts: each source's latest measurement up to the round, trusted by the default rule."""
    from pipelines.trust.roles import voting_rows, with_trust

    rows = with_trust(voting_rows(lake, round), TrustRule.default())
    keys = ("source_kind", "source_id", "role")
    return [{k: r[k] for k in keys} | {"measured_in_round": r["round"]} for r in rows if r["is_trusted"]]


def _diff(db: Path, round: int) -> dict[str, dict[str, int]]:
    rows = _mart(db, f"select change, unnest(reasons) as reason from round_diff where round = {round}")
    out: dict[str, Counter] = {"entered": Counter(), "left": Counter()}
    for r in rows:
        out[r["change"]][r["reason"]] += 1
    return {k: dict(v) for k, v in out.items()}


def _log_ratios(lake: Lake, table: str, at: str | None) -> list[float]:
    if table == "curated" and at not in lake.tags("curated"):
        return []
    ds = lake.dataset(table, at)
    import pyarrow.compute as pc

    t = ds.to_table(columns=["chosen", "rejected"])
    lc, lr = pc.utf8_length(t["chosen"]).to_pylist(), pc.utf8_length(t["rejected"]).to_pylist()
    values = [log_ratio(c, r) for c, r in zip(lc, lr, strict=True)]
    return random.Random(0).sample(values, SAMPLE) if len(values) > SAMPLE else values


def collect(lake: Lake, round: int, stage: int | None = None) -> dict[str, Any]:
    """Everything the report shows about ``round``; marts only when the last dbt build was this round."""
    from expectations import load_result, results_dir
    from lake.builds import dbt_dir, last_build, marts_file
    from lake.round_steps import step_records
    from pipelines.report.benchmarks import benchmark_rows

    steps = step_records(lake, round)
    build = last_build(lake) or {}
    tag = f"round-{round}"
    data: dict[str, Any] = {
        "round": round,
        "stage": stage or (steps[-1]["stage"] if steps else build.get("stage")),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "steps": [
            {k: (str(v) if k.endswith("_at") else v) for k, v in s.items()} for s in steps if s["status"] != "running"
        ],
        "trust": (trust := _trust(lake, round)),
        "trust_rule": TrustRule.default().describe(),
        "rm_accuracy": [  # out of sample only: the trust half of gold, or the gold RM's out-of-fold scores
            {k: r[k] for k in ("round", "accuracy", "ci_low", "ci_high", "role", "n")}
            for r in trust
            if r["source_kind"] == "rm" and r["accuracy"] is not None
        ],
        "benchmarks": benchmark_rows(lake, round),  # rm_eval of each round's RM roles, with the bias probes
        "length": {"curated": _log_ratios(lake, "curated", tag), "raw": _log_ratios(lake, "pairs", None)},
        "gate": load_result(lake, tag),
        "links": {},
    }
    if tag in lake.tags("curated"):
        data["snapshot"] = {"table": "curated", "tag": tag, "rows": lake.dataset("curated", tag).count_rows()}
    if data["gate"]:
        data["links"]["gx_html"] = str(results_dir(lake, tag) / "index.html")
        data["links"]["gx_json"] = str(results_dir(lake, tag) / "results.json")
    docs = Path(build.get("target_path") or dbt_dir(lake) / "target") / "static_index.html"
    if docs.exists():
        data["links"]["dbt_docs"] = str(docs)
    if (db := marts_file(lake, round, successful=True)) is not None:
        data.update(
            funnel=_funnel(db, round),
            margins=_margins(db, round),
            agreement=_agreement(db, round),
            diff=_diff(db, round),
            changes=_changes(db, round),
            deciding=_deciding(db, round),  # what the round's dbt build voted with
        )
    else:
        data["deciding"] = _voting(lake, round)
    return data


def save(lake: Lake, data: dict[str, Any]) -> Path:
    folder = report_dir(lake, data["round"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data.json"
    path.write_text(json.dumps(data, default=str))
    return path


def load(lake: Lake, round: int) -> dict[str, Any] | None:
    path = report_dir(lake, round) / "data.json"
    return json.loads(path.read_text()) if path.exists() else None
