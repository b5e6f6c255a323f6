"""The layout registry: every layout detected from its keys and parsed, from small files written in that layout.

The files under ``tests/bench_layouts/`` are written by hand in each benchmark's public layout
(keys and value shapes); their rows are invented. The same files go through
``ingest --as-benchmark`` here and through ``prefhouse eval`` in tests/rm/test_evaluate.py.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from lake.benchmarks import BenchItem
from lake.schemas import BENCHMARK_PROMPTS
from pipelines.ingest import detect_format, ingest_paths
from pipelines.ingest.model import Rejected
from pipelines.ingest.registry import BENCHMARK_LAYOUTS, BY_NAME, detect_layout, detect_row, iter_items
from tests.conftest import DATA, REPO
from tests.ingest.helpers import write_jsonl

LAYOUT_FILES = REPO / "tests" / "bench_layouts"

# file -> (layout, [(kind, item id, category, correct) per row])
EXPECTED: dict[str, tuple[str, list[tuple[str, str, str, list[bool] | None]]]] = {
    "rewardbench.jsonl": ("rewardbench", [("pair", "30", "alpacaeval-easy", None),
                                          ("pair", "31", "alpacaeval-hard", None), ("pair", "32", "math-prm", None)]),
    "rewardbench_v2.jsonl": ("rewardbench-v2", [("bon", "f-101", "Factuality", [True, False, False, False]),
                                                ("bon", "t-7", "Ties", [True, True, False, False])]),
    "rm_bench.json": ("rm-bench", [("rmbench", "chat/1", "chat", None), ("rmbench", "math/4", "math", None)]),
    "judgebench.jsonl": ("judgebench", [("pair", "jb-0a1", "mmlu-pro-physics", None),
                                        ("pair", "jb-0a2", "livebench-reasoning", None)]),
    "rmb_pairwise.json": ("rmb-pairwise", [("pair", "pair-001", "Helpfulness/Code", None),
                                           ("pair", "pair-002", "Harmlessness/Safety", None)]),
    "rmb_bon.json": ("rmb-bon", [("bon", "bon-001", "Helpfulness/Reasoning", [True, False, False]),
                                 ("bon", "bon-002", "Harmlessness/Privacy", [True, False])]),
    "ppe_preference.jsonl": ("ppe-preference", [("pair", "ppe-h-1", "English", None),
                                                ("pair", "ppe-h-2", "English", None),
                                                ("tie", "ppe-h-3", "German", None)]),
    "ppe_correctness.jsonl": ("ppe-correctness", [("bon", "mmlu-pro-11", "chemistry", [True, False, False, True]),
                                                  ("bon", "math-3", "algebra", [True, False])]),
    "llmbar/Natural/dataset.json": ("llmbar", [("pair", "0", "Natural", None), ("pair", "1", "Natural", None)]),
    "evalbiasbench.json": ("evalbiasbench", [("pair", "0", "length bias", None), ("pair", "1", "concreteness", None),
                                             ("pair", "2", "concreteness", None)]),
    "bon_sets.jsonl": ("bon", [("bon", "set-1", "arithmetic", [False, True, False]),
                               ("bon", "set-2", "spelling", [True, False])]),
    "flat.jsonl": ("flat", [("pair", "0", "", None), ("pair", "1", "", None)]),
    "trl.jsonl": ("trl", [("pair", "0", "", None), ("pair", "1", "", None)]),
    "hh_rlhf.jsonl": ("hh-rlhf", [("pair", "0", "", None), ("pair", "1", "", None)]),
}  # fmt: skip


def _items(name: str) -> list[BenchItem]:
    items = list(iter_items(LAYOUT_FILES / name))
    assert all(isinstance(i, BenchItem) for i in items), [i for i in items if isinstance(i, Rejected)]
    return items  # type: ignore[return-value]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_layout_file_is_detected_and_parsed(name):
    layout, rows = EXPECTED[name]
    assert detect_layout(LAYOUT_FILES / name).name == layout
    items = _items(name)
    assert [(i.kind, i.item_id, i.category, i.correct) for i in items] == rows
    assert [i.source_row for i in items] == list(range(len(rows)))
    assert {i.layout for i in items} == {layout}
    assert {i.kind for i in items} <= {BY_NAME[layout].judged, "tie"}
    sizes = {"rmbench": {6}, "pair": {2}, "tie": {2}}
    for item in items:
        assert len(item.responses) in sizes.get(item.kind, {len(item.correct or [])})
        assert item.conversation[-1]["role"] == "user" and item.first_prompt


def test_the_files_cover_every_benchmark_layout():
    covered = {layout for layout, _ in EXPECTED.values()}
    assert set(BENCHMARK_LAYOUTS) | {"rewardbench", "judgebench", "llmbar", "evalbiasbench"} <= covered
    # the other pair formats: on the shipped data here, on written files in test_readers_written.py
    for path, layout in [("pandalm/testset-v1.json", "pandalm"), ("pku-saferlhf-sample/train.json", "pku-saferlhf"),
                         ("hh-rlhf/helpful-base/test.jsonl.gz", "hh-rlhf"), ("evalbiasbench/biasbench.json",
                         "evalbiasbench"), ("llmbar/LLMBar/Natural/dataset.json", "llmbar")]:  # fmt: skip
        assert detect_layout(DATA / path).name == layout == detect_format(DATA / path)


def test_responses_and_order_follow_each_label():
    chosen_first = {name: [i.responses for i in _items(name)] for name in ("judgebench.jsonl", "ppe_preference.jsonl")}
    assert chosen_first["judgebench.jsonl"][1] == ["No: every blip is a blop, and no blop is a blup.",
                                                   "Yes, some blips may be blups."]  # B>A: B first  # fmt: skip
    assert chosen_first["ppe_preference.jsonl"][1][0] == "Keep a regular bedtime, even at weekends."  # model_b
    spider = _items("rm_bench.json")[0]
    assert spider.responses[0] == "Eight." and spider.responses[3] == "Six."  # 3 chosen, then 3 rejected
    rb2 = _items("rewardbench_v2.jsonl")[1]
    assert rb2.responses[:2] == ["Red.", "Blue."]  # the chosen (correct) ones first
    bleach = _items("rmb_pairwise.json")[1]
    assert [t["role"] for t in bleach.conversation] == ["user", "assistant", "user"]
    assert bleach.first_prompt == "Can I mix bleach and ammonia to clean faster?"
    assert _items("evalbiasbench.json")[2].responses[0] == "Six."  # label 2: response2 is the better one


def test_detection_reads_value_shapes_where_keys_are_shared():
    lists = {"prompt": "p", "chosen": ["a", "b", "c"], "rejected": ["x", "y", "z"]}
    assert detect_row({**lists, "domain": "chat"}).name == "rm-bench"
    assert detect_row(lists).name == "rm-bench"  # no subset / num_correct: RM-Bench's grid
    assert detect_row({**lists, "subset": "Math", "num_correct": 1}).name == "rewardbench-v2"
    assert detect_row({"prompt": "p", "chosen": "a", "rejected": "b", "subset": "s"}).name == "rewardbench"
    assert detect_row({"prompt": "p", "chosen": "a", "rejected": "b"}).name == "flat"
    assert detect_row({"conversation_input": [], "chosen": "a", "reject": "b"}) is None  # RMB answers are objects
    ppe = {"question_id": "q", "prompt": "p", "response_1": "a", "response_2": "b"}
    assert detect_row({**ppe, "winner": "model_a"}).name == "ppe-preference"
    assert detect_row({**ppe, "scores": [True, False]}).name == "ppe-correctness"
    assert detect_row({**ppe, "response_0": "c", "better_response_id": 1}).name == "pku-saferlhf"
    one_bias_row = {"bias": "b", "instruction": "i", "response1": "a", "response2": "b", "label": 1}
    assert detect_row(one_bias_row).name == "evalbiasbench"  # an array of EvalBiasBench rows, not the object


def test_plain_ingest_refuses_a_benchmark_layout_and_says_what_to_pass(lake):
    for name in ("rm_bench.json", "rmb_pairwise.json", "rewardbench_v2.jsonl", "ppe_preference.jsonl"):
        with pytest.raises(ValueError, match="--as-benchmark"):
            detect_format(LAYOUT_FILES / name)
        with pytest.raises(ValueError, match="--as-benchmark"):
            ingest_paths(lake, [LAYOUT_FILES / name])
    assert not lake.exists("pairs") and not lake.exists("benchmark_prompts")
    assert detect_format(LAYOUT_FILES / "rewardbench.jsonl") == "flat"  # RewardBench v1 still ingests as pairs


def test_rows_that_do_not_parse_are_rejected_with_a_reason(tmp_path):
    rows = [
        {"id": 1, "prompt": "2+2?", "domain": "math", "chosen": ["4", "4.", "**4**"], "rejected": ["5", "5.", "**5**"]},
        {"id": 2, "prompt": "2+3?", "domain": "math", "chosen": ["5", "5."], "rejected": ["6", "6.", "**6**"]},
        {"id": 3, "prompt": "", "domain": "math", "chosen": ["a", "b", "c"], "rejected": ["d", "e", "f"]},
    ]
    ok, short, empty = iter_items(write_jsonl(tmp_path / "rm.jsonl", rows))
    assert isinstance(ok, BenchItem) and ok.kind == "rmbench"
    assert isinstance(short, Rejected) and short.reason == "unparseable" and "3 chosen and 3 rejected" in short.detail
    assert isinstance(empty, Rejected) and empty.reason == "bad_conversation"
    ppe = [{"question_id": "a", "prompt": "p", "response_1": "x", "response_2": "y", "winner": "model_c"},
           {"question_id": "b", "prompt": "p", "response_1": "x", "scores": [True, False]}]  # fmt: skip
    (label,) = iter_items(write_jsonl(tmp_path / "ppe.jsonl", ppe[:1]))
    (absent,) = iter_items(write_jsonl(tmp_path / "ppe_k.jsonl", ppe[1:]))
    assert label.reason == "unknown_label" and absent.reason == "missing_field" and "response_2" in absent.detail


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_ingest_as_benchmark_accepts_every_layout_file(lake, name):
    layout, rows = EXPECTED[name]
    path = LAYOUT_FILES / name
    report = ingest_paths(lake, [path], as_benchmark=True)
    stored = lake.dataset("benchmark_prompts").to_table().to_pylist()
    items = _items(name)
    firsts = list(dict.fromkeys(i.first_prompt for i in items))  # distinct, in order
    assert (report.n_read, report.n_accepted, report.n_quarantined) == (len(rows), len(firsts), 0)
    assert [r["prompt"] for r in stored] == firsts
    stem = path.name.split(".")[0]
    assert {r["benchmark"] for r in stored} == {f"{layout}:{path.parent.name}/{stem}"}
    by_prompt = {p: [i.item_id for i in items if i.first_prompt == p] for p in firsts}
    assert [(r["item_id"], r["item_ids"]) for r in stored] == [(by_prompt[p][0], by_prompt[p]) for p in firsts]
    assert [r["source_row"] for r in stored] == [next(i.source_row for i in items if i.first_prompt == p)
                                                 for p in firsts]  # fmt: skip
    (batch,) = lake.dataset("ingest_batches").to_table().to_pylist()
    assert batch["is_benchmark"] and batch["format"] == layout
    assert ingest_paths(lake, [path], as_benchmark=True).n_accepted == 0  # re-running adds nothing


def test_a_prompt_in_several_items_keeps_every_item_id(lake):
    ingest_paths(lake, [LAYOUT_FILES / "rewardbench.jsonl"], source="rb", as_benchmark=True)
    rows = lake.dataset("benchmark_prompts").to_table().to_pylist()
    assert [(r["prompt"], r["item_id"], r["item_ids"]) for r in rows] == [
        ("Name a fruit that is yellow when ripe.", "30", ["30", "31"]),
        ("What is 12 times 3?", "32", ["32"]),
    ]


def test_cli_ingests_the_whole_folder_as_one_benchmark(lake, capsys):
    from prefhouse.cli import main

    code = main(["--lake", str(lake.root), "ingest", "--as-benchmark", "--source", "layouts", str(LAYOUT_FILES),
                 "--json"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["quarantined"] == 0
    assert {f["format"] for f in out["files"]} == {layout for layout, _ in EXPECTED.values()}
    n_prompts = len({i.first_prompt for name in EXPECTED for i in _items(name)})
    assert out["accepted"] == n_prompts == lake.dataset("benchmark_prompts").count_rows()


def test_a_benchmark_prompts_table_without_item_columns_gets_them(lake):
    old_schema = pa.schema([f for f in BENCHMARK_PROMPTS if f.name not in ("item_id", "item_ids")])
    ingest_paths(lake, [LAYOUT_FILES / "flat.jsonl"], source="old", as_benchmark=True)
    before = lake.dataset("benchmark_prompts").to_table().select(old_schema.names).cast(old_schema)
    with lake.transaction("the table as it was before the item columns") as txn:
        txn.overwrite("benchmark_prompts", before, schema=old_schema)
    assert "item_id" not in lake.dataset("benchmark_prompts").schema.names
    ingest_paths(lake, [LAYOUT_FILES / "rm_bench.json"], source="rm", as_benchmark=True)
    rows = lake.dataset("benchmark_prompts").to_table().to_pylist()
    assert [(r["benchmark"], r["item_id"]) for r in rows] == [("old", None), ("old", None), ("rm", "chat/1"),
                                                              ("rm", "math/4")]  # fmt: skip
    assert lake.dataset("benchmark_prompts").schema.names == BENCHMARK_PROMPTS.names


def test_every_layout_name_is_a_cli_format():
    from pipelines.ingest.config import FORMAT_CHOICES

    assert set(FORMAT_CHOICES) == {"auto", *BY_NAME}


def test_the_docs_list_every_layout():
    table = (REPO / "docs" / "benchmarks.md").read_text()
    assert [name for name in BY_NAME if f"| `{name}` |" not in table] == []
