"""A round's benchmark files: the CLI flags, their names, a wrong path or limit failing before any
step, and the per-file limit spread over a file's categories (the shipped EvalBiasBench)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from lake.configargs import config_from_args
from pipelines.ingest.registry import read_spread
from pipelines.rounds.config import RoundConfig
from pipelines.rounds.steps_eval import named_benchmarks
from prefhouse.cli import build_parser, main

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "tests" / "bench_layouts"
EBB = REPO / "data" / "evalbiasbench" / "biasbench.json"


def test_round_run_takes_eval_benchmarks_and_a_limit():
    args = build_parser().parse_args(
        ["round", "run", "--round", "2", "--eval-benchmarks", "a/llmbar", "b.json", "--eval-limit", "5"]
    )
    cfg = config_from_args(RoundConfig, args)
    assert cfg.eval_benchmarks == [Path("a/llmbar"), Path("b.json")] and cfg.eval_limit == 5
    assert RoundConfig().eval_benchmarks == [] and RoundConfig().eval_limit is None


def test_benchmarks_are_named_as_prefhouse_eval_names_them_or_as_given():
    names = named_benchmarks([BENCH / "llmbar", BENCH / "evalbiasbench.json", f"RMB={BENCH / 'rmb_pairwise.json'}"])
    assert names == {
        "llmbar": BENCH / "llmbar",
        "evalbiasbench": BENCH / "evalbiasbench.json",
        "RMB": BENCH / "rmb_pairwise.json",
    }
    with pytest.raises(ValueError, match="both named 'llmbar'"):
        named_benchmarks([BENCH / "llmbar", f"llmbar={BENCH / 'flat.jsonl'}"])
    assert list(named_benchmarks([BENCH / "llmbar" / "Natural" / "dataset.json"])) == ["Natural"]  # LLMBar's folder
    with pytest.raises(FileNotFoundError, match="no file or folder"):
        named_benchmarks([BENCH / "missing.json"])


def test_a_wrong_path_or_limit_fails_the_round_before_any_step(lake, capsys):
    code = main(["--lake", str(lake.root), "round", "run", "--round", "1", "--eval-benchmarks", "nowhere/bench.json"])
    assert code == 2 and "no file or folder nowhere/bench.json" in capsys.readouterr().err
    code = main(
        ["--lake", str(lake.root), "round", "run", "--eval-benchmarks", str(BENCH / "flat.jsonl"), "--eval-limit", "0"]
    )
    assert code == 2 and "--eval-limit must be >= 1" in capsys.readouterr().err
    assert lake.dataset("round_steps").count_rows() == 0


def test_the_limit_is_spread_over_the_categories_of_a_file():
    every = read_spread(EBB)
    per_type = Counter(item.category for item in every)
    assert len(every) == 80 and len(per_type) == 6  # one file, grouped by bias type
    some = read_spread(EBB, limit=12)
    assert Counter(item.category for item in some) == {category: 2 for category in per_type}
    assert [i.source_row for i in some] == sorted(i.source_row for i in some)  # file order kept
    uneven = Counter(i.category for i in read_spread(EBB, limit=75))  # the small types run out, the rest fill it
    assert uneven == {c: 13 if n > 12 else n for c, n in per_type.items()} and min(per_type.values()) == 12
    assert read_spread(BENCH / "llmbar", limit=1)[0].category == "Natural"  # per file of a folder
