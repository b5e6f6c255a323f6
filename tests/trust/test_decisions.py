"""Through the real dbt build: a chance-level RM decides nothing, a strong one flips what it should.

Each lake holds 100 gold pairs (two annotators agree) and a pool of 40 unverified pairs, 10 of
them planted with the wrong label. Two RM runs score everything; their trust is measured the
way a round measures it (the trust half of gold for the best RM, planted out-of-fold scores for
the gold RM), then a Stage-2 build decides.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pytest

from lake import Lake
from lake.records import pair_row, pairs_table
from lake.schemas import RM_SCORES
from pipelines import dbt_runner
from pipelines.labelapp import append_labels, label_row
from pipelines.trust import measure, measure_round
from pipelines.trust.roles import round_rm

pytestmark = pytest.mark.slow
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _build(root, strong: bool) -> dict[str, dict]:
    lake = Lake(root)
    gold = [pair_row(f"gold question {i}?", f"good answer {i}", f"bad answer {i}", source_row=i) for i in range(100)]
    pool = [pair_row(f"pool question {i}?", f"reply A{i}", f"reply B{i}", source_row=100 + i) for i in range(40)]
    wrong = {p["pair_id"] for p in pool[:10]}  # planted: the stored "rejected" side is the better one
    lake.append("pairs", pairs_table(gold + pool))
    append_labels(lake, [label_row(g["pair_id"], a, "chosen") for g in gold for a in ("ann1", "ann2")])
    rng = random.Random(0)
    rows = []
    for run in ("rm-gold", "rm-best"):
        for p in gold + pool:
            m = (-2.0 if p["pair_id"] in wrong else 2.0) if strong else rng.uniform(-0.01, 0.01)
            rows.append({"run_id": run, "pair_id": p["pair_id"], "reward_chosen": m, "reward_rejected": 0.0,
                         "margin": m, "p": 1 / (1 + math.exp(-m)), "scored_at": T0})  # fmt: skip
    lake.append("rm_scores", pa.Table.from_pylist(rows, schema=RM_SCORES))
    gold_p = {r["pair_id"]: r["p"] for r in rows if r["run_id"] == "rm-gold" and r["pair_id"] not in wrong}
    gold_p = {pid: p for pid, p in gold_p.items() if pid in {g["pair_id"] for g in gold}}
    row = measure.measure_rm(lake, 1, "rm-gold", "gold", list(gold_p), "planted out of fold", "gold", p_of=gold_p)
    measure.write_rows(lake, [row], "gold RM trust")
    report = measure_round(lake, 1, {"best": "rm-best"}, agreement_resamples=0)
    result = dbt_runner.build(lake, 1, 2, quiet=True)
    assert result.success, result.failures
    con = duckdb.connect(result.duckdb_path, read_only=True)
    try:
        rel = con.sql("select * from curated_pairs")
        decided = {r[rel.columns.index("pair_id")]: dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()}
        sql_roles = dict(con.sql("select rm_role, run_id from int_rm_runs_selected").fetchall())
    finally:
        con.close()
    py_roles = {role: round_rm(lake, 1, (role,)) for role in ("gold", "best")}
    return {"rows": decided, "wrong": wrong, "pool": {p["pair_id"] for p in pool}, "report": report,
            "roles": (sql_roles, py_roles)}  # fmt: skip


@pytest.fixture(scope="module")
def chance(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("chance") / "lakehouse", strong=False)


@pytest.fixture(scope="module")
def strong(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("strong") / "lakehouse", strong=True)


def test_python_and_dbt_agree_on_which_run_plays_which_role(chance):
    sql_roles, py_roles = chance["roles"]
    assert sql_roles == py_roles == {"gold": "rm-gold", "best": "rm-best"}


def test_chance_level_rms_decide_nothing(chance):
    rows, pool = chance["rows"], chance["pool"]
    assert chance["report"].n_trusted == 2  # the two annotators; neither RM
    assert "NOT trusted" in chance["report"].message()
    decided = [rows[p] for p in pool]
    assert {r["decision"] for r in decided} == {"keep"}
    assert {(r["decision_rule"], r["label_provenance"]) for r in decided} == {("no_trusted_gold_rm", "original")}
    assert all(r["margin"] is None for r in decided)  # an untrusted RM's margin is not published either
    assert any("gold_rm_untrusted_" in reason for r in decided for reason in r["reasons"])


def test_a_strong_rm_pair_flips_exactly_the_planted_errors(strong):
    rows, pool, wrong = strong["rows"], strong["pool"], strong["wrong"]
    assert strong["report"].n_trusted == 4  # annotators and both RMs
    flipped = {p for p in pool if rows[p]["decision"] == "flip"}
    assert flipped == wrong
    assert {rows[p]["decision_rule"] for p in wrong} == {"gold_and_best_rm_disagree"}
    assert {rows[p]["label_provenance"] for p in pool} == {"rm"}
