"""One gold rule: Python runs the same macro as dbt, pinned on the dbt unit test's own fixture rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import yaml

from lake.labels import gold_table, gold_verdicts
from lake.rules import TrustRule, gold_sql, render
from pipelines.labelapp import append_labels, label_row
from pipelines.trust.measure import trust_row, write_rows

GOLD_YML = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "marts" / "gold_set.yml"


def _unit_test() -> dict:
    tests = yaml.safe_load(GOLD_YML.read_text())["unit_tests"]
    return next(t for t in tests if t["name"] == "human_majority_vote_and_agreement")


def test_python_gives_the_dbt_unit_tests_answers_on_its_rows():
    unit = _unit_test()
    given = {g["input"]: g["rows"] for g in unit["given"]}
    labels = [
        {**r, "labeled_at": datetime.fromisoformat(str(r["labeled_at"])).replace(tzinfo=UTC)}
        for r in given["ref('stg_lake__human_labels')"]
    ]
    excluded = [r["source_id"] for r in given["ref('int_sources_trusted')"] if not r["is_trusted"]]
    table = gold_table(pa.Table.from_pylist(labels), round=unit["overrides"]["vars"]["round"], excluded=excluded)
    got = {r["pair_id"]: r for r in table.to_pylist()}
    for want in unit["expect"]["rows"]:
        row = got.pop(want["pair_id"])
        assert {k: row[k] for k in want} == want
    assert not got  # p_future (round 3) and p_careless (only an untrusted annotator) have no row


def test_the_macro_is_the_text_both_sides_run():
    sql = gold_sql("human_labels_in", 2, ["careless"])
    assert "qualify row_number() over (partition by pair_id, annotator" in sql
    assert "annotator not in (select unnest(['careless']::varchar[]))" in sql
    rule = TrustRule(min_lower=0.6, min_n=30, max_position_bias=0.1)
    assert rule.sql() == render("is_trusted_expr", min_lower=0.6, min_n=30, max_position_bias=0.1)


def test_relabel_split_and_untrusted_annotator_through_the_lake(lake):
    from lake.records import pair_row, pairs_table

    pairs = [pair_row(f"q{i}?", f"good {i}", f"bad {i}", source_row=i) for i in range(3)]
    ids = [p["pair_id"] for p in pairs]
    lake.append("pairs", pairs_table(pairs))
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    later = datetime(2026, 1, 2, tzinfo=UTC)
    append_labels(lake, [
        label_row(ids[0], "ann1", "rejected", labeled_at=t0), label_row(ids[0], "ann1", "chosen", labeled_at=later),
        label_row(ids[1], "ann1", "chosen"), label_row(ids[1], "ann2", "rejected"),
        label_row(ids[2], "ann1", "chosen"), label_row(ids[2], "spammer", "rejected"),
        label_row(ids[2], "spammer2", "rejected"),
    ])  # fmt: skip
    # the relabel wins, the split has no verdict, two spammers outvote ann1
    assert gold_verdicts(lake) == {ids[0]: "chosen", ids[2]: "rejected"}
    # once the spammers are measured untrusted, they no longer outvote ann1
    write_rows(lake, [trust_row(1, "annotator", a, 10, 40, "planted") for a in ("spammer", "spammer2")], "planted")
    assert gold_verdicts(lake) == {ids[0]: "chosen", ids[2]: "chosen"}
