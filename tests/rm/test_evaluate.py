"""Evaluation metrics on known rewards, and an end-to-end eval that writes rm_eval rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rm.evaluate import _bon, _pair, _rmbench, _Tally

REPO = Path(__file__).resolve().parents[2]


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
    from prefhouse.commands.rm import evaluate
    from rm.config import EvalConfig

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


# every file of tests/bench_layouts (one per layout): the rm_eval metrics it gets, with their n on subset "all"
LAYOUT_METRICS = {
    "rewardbench": {"accuracy": 3},
    "rewardbench_v2": {"best_of_n_accuracy": 2, "accuracy": 7},  # (correct, incorrect) pairs: 1x3 + 2x2
    "rm_bench": {"accuracy_easy": 6, "accuracy_normal": 6, "accuracy_hard": 6, "accuracy": 18},
    "judgebench": {"accuracy": 2},
    "rmb_pairwise": {"accuracy": 2},
    "rmb_bon": {"best_of_n_accuracy": 2, "accuracy": 3},
    "ppe_preference": {"accuracy": 2},  # its tie is not scored
    "ppe_correctness": {"best_of_n_accuracy": 2, "accuracy": 5},
    "Natural": {"accuracy": 2},  # llmbar/Natural/dataset.json
    "evalbiasbench": {"accuracy": 3},
    "bon_sets": {"best_of_n_accuracy": 2, "accuracy": 3},
    "flat": {"accuracy": 2},
    "trl": {"accuracy": 2},
    "hh_rlhf": {"accuracy": 2},
}
SCORED = ("accuracy", "best_of_n_accuracy", "accuracy_easy", "accuracy_normal", "accuracy_hard")


def test_ingest_as_benchmark_and_eval_accept_the_same_files(trained, lake, capsys):
    """The CLI: the files ingest --as-benchmark reads, eval scores (a fresh lake: rm_eval of its own)."""
    from pipelines.ingest.registry import bench_files
    from prefhouse.cli import main

    _, result, _ = trained
    files = [str(f) for f in bench_files(REPO / "tests" / "bench_layouts")]
    assert len(files) == len(LAYOUT_METRICS)
    assert main(["--lake", str(lake.root), "ingest", "--as-benchmark", "--source", "layouts", *files]) == 0
    prompts = lake.dataset("benchmark_prompts").to_table().to_pylist()
    assert {r["benchmark"] for r in prompts} == {"layouts"} and all(r["item_id"] for r in prompts)
    capsys.readouterr()
    assert main(["--lake", str(lake.root), "eval", "--run", str(result.run_dir), "--bench", *files]) == 0
    assert "skipped" not in capsys.readouterr().err
    table = lake.dataset("rm_eval").to_table().to_pylist()
    got = {b: {r["metric"]: r["n"] for r in table if r["bench"] == b and r["subset"] == "all" and r["metric"] in SCORED}
           for b in {r["bench"] for r in table}}  # fmt: skip
    assert got == LAYOUT_METRICS
    assert all(0.0 <= r["value"] <= 1.0 for r in table)
    rm_bench = {(r["subset"], r["metric"]) for r in table if r["bench"] == "rm_bench"}
    assert {("chat", "accuracy_hard"), ("math", "accuracy_easy")} <= rm_bench  # per domain
