"""Each round's reward models on the benchmark files: one row per (round, role, bench).

A round's rows are the rows of the runs that play a role in it (from ``source_trust``) and
each run's latest evaluation of each bench in ``rm_eval`` (written by the rounds'
``eval_benchmarks`` step or ``prefhouse eval``). Read by the report and the demo.
"""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc

from lake import Lake

PROBES = ("accuracy", "length_bias_accuracy", "longer_wins_agreement")


def benchmark_rows(lake: Lake, round: int | None = None) -> list[dict[str, Any]]:
    """Benchmark accuracy and bias probes (``rm_eval``, subset ``all``) of each RM role of each round
    up to ``round``: one row per (round, role, bench), from the role's run (``source_trust``) and that
    run's latest evaluation on the bench. Bench ``gold`` (``prefhouse eval --gold``) is left out:
    out-of-sample gold accuracy is ``source_trust``'s."""
    st = lake.dataset("source_trust").to_table(
        columns=["round", "source_id", "role", "measured_at"], filter=pc.field("source_kind") == "rm"
    )
    role_run: dict[tuple[int, str], tuple[Any, str]] = {}
    for r in st.to_pylist():
        if not r["role"] or (round is not None and r["round"] > round):
            continue
        key, stamp = (r["round"], r["role"]), (r["measured_at"], r["source_id"])
        if key not in role_run or stamp > role_run[key]:
            role_run[key] = stamp
    if not role_run:
        return []
    runs = sorted({source for _, source in role_run.values()})
    ev = lake.dataset("rm_eval").to_table(
        columns=["run_id", "bench", "metric", "n", "value", "evaluated_at"],
        filter=(pc.field("subset") == "all") & (pc.field("bench") != "gold") & pc.field("run_id").isin(runs),
    )
    latest: dict[tuple[str, str], Any] = {}
    for e in ev.to_pylist():
        key = (e["run_id"], e["bench"])
        latest[key] = max(latest.get(key, e["evaluated_at"]), e["evaluated_at"])
    metrics: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for e in ev.to_pylist():
        key = (e["run_id"], e["bench"])
        if e["evaluated_at"] == latest[key] and e["metric"] in PROBES:
            metrics.setdefault(key, {})[e["metric"]] = e
    out = []
    for (rnd, role), (_, run_id) in sorted(role_run.items()):
        for (rid, bench), m in sorted(metrics.items()):
            if rid != run_id:
                continue
            row = {"round": rnd, "role": role, "run_id": run_id, "bench": bench, "n": m.get("accuracy", {}).get("n")}
            out.append(row | {p: m[p]["value"] if p in m else None for p in PROBES})
    return out
