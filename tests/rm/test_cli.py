"""The CLI: flags generated from the configs, thin handlers over the trained run."""

from __future__ import annotations

from pathlib import Path

import pytest

from prefhouse.cli import build_parser, main

DATA = Path(__file__).resolve().parents[2] / "data"


def test_train_flags_come_from_the_config():
    args = build_parser().parse_args(["train", "--table", "curated", "--tag", "round-1", "--out", "runs/x",
                                      "--max-steps", "5", "--preset", "dev", "--gold-tag", "gold-1"])  # fmt: skip
    assert (args.table, args.tag, args.max_steps, args.preset, args.gold_at) == (
        "curated",
        "round-1",
        5,
        "dev",
        "gold-1",
    )
    assert not hasattr(args, "lr")  # not given: the preset decides


def test_train_with_tag_and_version_fails_with_the_fix(trained, capsys):
    lake, _result, _rows = trained
    code = main(["--lake", str(lake.root), "train", "--tag", "seed", "--version", "1", "--out", "/tmp/never"])
    assert code == 2 and "give --tag or --version, not both" in capsys.readouterr().err


def test_eval_and_score_commands(trained, capsys):
    lake, result, _rows = trained
    bench = DATA / "llmbar" / "LLMBar" / "Natural" / "dataset.json"
    assert main(["--lake", str(lake.root), "eval", "--run", str(result.run_dir), "--bench", str(bench),
                 "--limit", "8"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "Natural" in out and "accuracy" in out
    rows = lake.dataset("rm_eval").to_table(filter="bench = 'Natural' AND subset = 'all' AND metric = 'accuracy'")
    assert rows["n"].to_pylist()[-1] == 8
    assert main(["--lake", str(lake.root), "score", "--run", str(result.run_dir), "--table", "pairs"]) == 0
    assert '"table": "pairs"' in capsys.readouterr().out


def test_eval_without_bench_says_what_to_pass(trained, capsys):
    lake, result, _rows = trained
    assert main(["--lake", str(lake.root), "eval", "--run", str(result.run_dir)]) == 2
    assert "pass --bench PATH" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--preset", "huge"])
