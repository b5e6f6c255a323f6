"""One rule for several judges: the dbt model and :func:`merge_votes` give the same answers.

The fixture is the dbt unit tests ``judge_merge_*`` of ``silver_set.yml`` (run by ``dbt build``):
this test feeds their given votes to the Python merge and expects their rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipelines.annotate import merge_votes

UNIT_TESTS = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "marts" / "silver_set.yml"
STATUS = {"chosen": "agree", "rejected": "disagree", None: "uncertain"}


def _merge_tests() -> list[dict]:
    tests = [t for t in yaml.safe_load(UNIT_TESTS.read_text())["unit_tests"] if t["name"].startswith("judge_merge_")]
    assert {t["overrides"]["vars"]["judge_merge"] for t in tests} == {"pooled", "majority", "unanimous", "any"}
    return tests


@pytest.mark.parametrize("unit_test", _merge_tests(), ids=lambda t: t["name"])
def test_python_merge_equals_the_dbt_rule(unit_test):
    given = {g["input"]: g["rows"] for g in unit_test["given"]}
    trusted = [r["source_id"].split("|")[0] for r in given["ref('int_sources_trusted')"] if r["is_trusted"]]
    votes = [
        {"pair_id": r["pair_id"], "model": r["judge_model"], "vote": r["vote"]}
        for r in given["ref('stg_lake__judge_labels')"]
        if r["is_valid"]
    ]
    merged = merge_votes(votes, unit_test["overrides"]["vars"]["judge_merge"], trusted)
    got = {pid: STATUS[m["verdict"]] for pid, m in merged.items()}
    assert got == {r["pair_id"]: r["judge_status"] for r in unit_test["expect"]["rows"]}
