"""The quality gate on crafted lakes: clean data passes, planted bad batches fail with names."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from expectations import run_gate, validate_frames
from expectations.suites import all_suites
from lake.records import pair_row, pairs_table
from lake.schemas import HUMAN_LABELS, RM_SCORES

NOW = datetime.now(UTC)


def _pairs(n: int, prefix: str = "q") -> list[dict]:
    return [pair_row(f"{prefix} question {i}", f"good answer {i}", f"bad answer number {i}") for i in range(n)]


def _scores(pair_ids: list[str], run_id: str = "run-1", p_override: dict[str, float] | None = None) -> pa.Table:
    rows = []
    for i, pid in enumerate(pair_ids):
        margin = (i % 5) - 2.0
        p = 1 / (1 + math.exp(-margin))
        rows.append(
            {
                "run_id": run_id,
                "pair_id": pid,
                "reward_chosen": margin,
                "reward_rejected": 0.0,
                "margin": margin,
                "p": (p_override or {}).get(pid, p),
                "scored_at": NOW,
            }
        )
    return pa.Table.from_pylist(rows, schema=RM_SCORES)


def _failures_by(result, table: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in result.failures:
        if f.table == table:
            out.setdefault(f.expectation, []).append(f)
    return out


def test_empty_lake_passes_with_schema_checks_only(lake):
    result = run_gate(lake, "empty")
    assert result.passed, result.summary()
    assert all(info["rows"] == 0 and info["checks"] == 1 for info in result.tables.values())
    saved = json.loads((lake.root / "_quality" / "empty" / "results.json").read_text())
    assert saved["passed"] is True


def test_clean_lake_passes(lake):
    rows = _pairs(30)
    lake.append("pairs", pairs_table(rows))
    lake.append("rm_scores", _scores([r["pair_id"] for r in rows]))
    result = run_gate(lake, "clean")
    assert result.passed, result.summary()
    assert result.tables["pairs"]["checks"] > 5 and result.tables["rm_scores"]["rows"] == 30


def test_planted_bad_scores_fail_and_name_the_rows(lake):
    rows = _pairs(30)
    lake.append("pairs", pairs_table(rows))
    good = _scores([r["pair_id"] for r in rows])
    bad_id = rows[3]["pair_id"]
    lake.append("rm_scores", _scores([bad_id], run_id="run-2", p_override={bad_id: 1.7}))
    lake.append("rm_scores", good)
    result = run_gate(lake, "bad-scores")
    assert not result.passed
    failed = _failures_by(result, "rm_scores")
    between = failed["expect_column_values_to_be_between"]
    p_fail = next(f for f in between if f.kwargs["column"] == "p")
    assert p_fail.unexpected_count == 1 and p_fail.sample_ids == [bad_id]
    assert _failures_by(result, "pairs") == {}
    page = (lake.root / "_quality" / "bad-scores" / "index.html").read_text()
    assert "FAILED" in page and bad_id in page and "<script" not in page


def test_planted_degenerate_pairs_fail(lake):
    rows = _pairs(40)
    same = pair_row("a prompt", "identical", "identical")
    long = pair_row("another prompt", "x" * 250_000, "short")
    lake.append("pairs", pairs_table([*rows, same, long]))
    failed = _failures_by(run_gate(lake, "bad-pairs", write=False), "pairs")
    assert failed["expect_column_values_to_be_in_set"][0].sample_ids == [same["pair_id"]]
    chosen_len = next(f for f in failed["expect_column_values_to_be_between"] if f.kwargs["column"] == "chosen_chars")
    assert chosen_len.sample_ids == [long["pair_id"]]


def test_human_label_balance_and_values(lake):
    rows = _pairs(10)
    labels = [
        {
            "label_id": f"l{i}",
            "pair_id": r["pair_id"],
            "round": 1,
            "annotator": "ann",
            "verdict": "chosen" if i != 0 else "maybe",
            "is_chosen_shown_first": True,  # the app forgot to randomise
            "note": None,
            "tools": [],
            "origin": "app",
            "labeled_at": NOW,
        }
        for i, r in enumerate(rows)
    ]
    lake.append("human_labels", pa.Table.from_pylist(labels, schema=HUMAN_LABELS))
    failed = _failures_by(run_gate(lake, "labels", write=False), "human_labels")
    in_set = failed["expect_column_values_to_be_in_set"]
    assert any(f.sample_ids == [rows[0]["pair_id"]] for f in in_set)
    mean = failed["expect_column_mean_to_be_between"][0]
    assert mean.kwargs["column"] == "shown_first" and mean.observed == 1.0


def test_kept_fraction_bounded_by_previous_round():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "round": [2] * 10,
            "pair_id": [f"p{i}" for i in range(10)],
            "decision": ["keep"] * 2 + ["drop"] * 8,
        }
    )
    frame["is_kept"] = (frame["decision"] == "keep").astype(float)
    ok = validate_frames({"curated_pairs": frame}, all_suites(previous_kept_fraction=0.3))
    assert ok.passed, ok.summary()
    bad = validate_frames({"curated_pairs": frame}, all_suites(previous_kept_fraction=0.8))
    assert not bad.passed
    (failure,) = bad.failures
    assert failure.expectation == "expect_column_mean_to_be_between" and failure.observed == pytest.approx(0.2)
    assert failure.kwargs["min_value"] == pytest.approx(0.55)


def test_unknown_frame_is_an_error():
    import pandas as pd

    with pytest.raises(ValueError, match="no suite for frame 'nope'"):
        validate_frames({"nope": pd.DataFrame({"a": [1]})}, all_suites())
