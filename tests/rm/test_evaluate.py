"""Evaluation metrics on known rewards, and an end-to-end eval that writes rm_eval rows."""

from __future__ import annotations

import json

import pytest

from rm.evaluate import _bon, _pair, _rmbench, _Tally


def _rows(t):
    return {(r["subset"], r["metric"]): (r["n"], r["value"]) for r in t.rows()}


def test_pair_accuracy_and_length_bias_probes():
    t = _Tally()
    _pair(t, "c", 1.0, 0.0, "short", "a much longer rejected answer")  # right, longer was rejected
    _pair(t, "c", 0.0, 1.0, "a much longer chosen answer", "short")  # wrong: picked the shorter
    _pair(t, "c", 2.0, 1.0, "a long chosen answer", "tiny")  # right, picked the longer
    rows = _rows(t)
    assert rows[("c", "accuracy")] == (3, pytest.approx(2 / 3))
    assert rows[("all", "length_bias_accuracy")] == (1, 1.0)
    assert rows[("all", "longer_wins_agreement")] == (3, pytest.approx(1 / 3))
    assert rows[("all", "longer_wins_accuracy")] == (3, pytest.approx(2 / 3))


def test_rm_bench_grid():
    t = _Tally()
    # chosen rewards 1, 2, 3 (concise -> markdown), rejected 1.5, 1.5, 1.5: hard cells are i < j
    _rmbench(t, "math", [1.0, 2.0, 3.0, 1.5, 1.5, 1.5])
    rows = _rows(t)
    assert rows[("math", "accuracy_normal")] == (3, pytest.approx(2 / 3))
    assert rows[("math", "accuracy_hard")] == (3, pytest.approx(1 / 3))  # (0,1) no, (0,2) no, (1,2) yes
    assert rows[("math", "accuracy_easy")] == (3, 1.0)
    assert rows[("math", "accuracy")] == (9, pytest.approx(6 / 9))


def test_best_of_n():
    t = _Tally()
    _bon(t, "x", [0.1, 0.9, 0.5], [False, True, False])
    _bon(t, "x", [0.9, 0.1, 0.5], [False, True, False])
    rows = _rows(t)
    assert rows[("x", "best_of_n_accuracy")] == (2, 0.5)
    assert rows[("x", "accuracy")] == (4, 0.5)


def test_eval_writes_rm_eval_rows_and_json(trained, tmp_path):
    from rm.config import EvalConfig
    from rm.evaluate import evaluate

    lake, result, _ = trained
    bench = tmp_path / "mini.jsonl"
    bench.write_text(
        json.dumps({"prompt": "tell me something about owls", "subset": "s",
                    "chosen": "owls are interesting: here is a short, friendly and helpful answer about owls.",
                    "rejected": "i refuse to answer that."}) + "\n"
    )  # fmt: skip
    out = evaluate(lake, EvalConfig(run=result.run_dir, bench=[bench], gold=True))
    assert set(out) == {"mini", "gold"}
    table = lake.dataset("rm_eval").to_table().to_pylist()
    got = {(r["bench"], r["subset"], r["metric"]): r["value"] for r in table}
    assert got[("gold", "all", "accuracy")] == 1.0
    assert ("mini", "s", "accuracy") in got and all(r["run_id"] == "sep" for r in table)
    saved = json.loads((result.run_dir / "eval" / "mini.json").read_text())
    assert saved["bench"] == "mini" and saved["results"]
