"""Every benchmark format parses: LLMBar from the repo's data, the others from small files in their real layout."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from rm.benchmarks_formats import read_bench, write_jsonl

DATA = Path(__file__).resolve().parents[2] / "data"
MSG = [{"role": "user", "content": "what is 2+2?", "language": "English"}]


def test_llmbar_from_the_sample_data():
    items = list(read_bench(DATA / "llmbar" / "LLMBar"))
    counts = Counter(i.category for i in items)
    assert counts == {"Natural": 100, "Neighbor": 134, "GPTInst": 92, "GPTOut": 47, "Manual": 46}
    first = next(read_bench(DATA / "llmbar" / "LLMBar" / "Natural" / "dataset.json"))
    assert first.kind == "pair" and first.conversation[0]["content"].startswith("Summarize the following content.")


def test_rewardbench_style(tmp_path):
    rows = [{"prompt": "hi", "chosen": "hello!", "rejected": "go away", "subset": "alpacaeval-easy", "id": 1},
            {"prompt": "2+2?", "chosen": "4", "rejected": "5", "subset": "math-prm", "id": 2}]  # fmt: skip
    items = list(read_bench(write_jsonl(tmp_path / "rb.jsonl", rows)))
    assert [(i.category, i.responses) for i in items] == [("alpacaeval-easy", ["hello!", "go away"]),
                                                          ("math-prm", ["4", "5"])]  # fmt: skip


def test_judgebench_style_orders_by_label(tmp_path):
    rows = [{"pair_id": "a", "question": "q1", "response_A": "ra", "response_B": "rb", "label": "B>A",
             "source": "mmlu-pro-math"}]  # fmt: skip
    (item,) = read_bench(write_jsonl(tmp_path / "jb.jsonl", rows))
    assert item.responses == ["rb", "ra"] and item.category == "mmlu-pro-math"


def test_rmb_pairwise_and_best_of_n(tmp_path):
    pair = {"pair_uid": "p1", "category_path": "Pairwise_set/Helpfulness/Code/Debug", "conversation_input": MSG,
            "chosen": {"llm_name": "m1", "answer": "4"}, "reject": {"llm_name": "m2", "answer": "5"}}  # fmt: skip
    (item,) = read_bench(write_jsonl(tmp_path / "rmb_pair.json", [pair]))
    assert (item.kind, item.responses, item.category) == ("pair", ["4", "5"], "Helpfulness/Code")
    bon = {"bon_uid": "b1", "category_path": "BoN_set/Harmlessness/S1", "conversation_input": MSG,
           "bon_best": {"llm_name": "m1", "answer": "4"},
           "loser_list": [{"llm_name": "m2", "answer": "5"}, {"llm_name": "m3", "answer": "22"}]}  # fmt: skip
    (item,) = read_bench(write_jsonl(tmp_path / "rmb_bon.jsonl", [bon]))
    assert (item.kind, item.responses, item.correct) == ("bon", ["4", "5", "22"], [True, False, False])


def test_rm_bench_rows(tmp_path):
    row = {"id": 1, "prompt": "2+2?", "domain": "math", "chosen": ["4", "It is 4.", "**4**"],
           "rejected": ["5", "It is 5.", "**5**"]}  # fmt: skip
    (item,) = read_bench(write_jsonl(tmp_path / "total_dataset.json", [row]))
    assert (item.kind, item.category, len(item.responses)) == ("rmbench", "math", 6)
    bad = dict(row, chosen=["4", "4."])
    with pytest.raises(ValueError, match="3 chosen and 3 rejected"):
        list(read_bench(write_jsonl(tmp_path / "bad.jsonl", [bad])))


def test_best_of_n_sets(tmp_path):
    rows = [{"prompt": "2+2?", "candidates": ["5", "4", "3"], "correct": [False, True, False], "category": "math"}]
    (item,) = read_bench(write_jsonl(tmp_path / "bon.jsonl", rows))
    assert item.correct == [False, True, False]
    ppe = [{"prompt": "2+2?", "response_1": "4", "response_2": "5", "scores": [True, False]}]
    (item,) = read_bench(write_jsonl(tmp_path / "ppe.jsonl", ppe))
    assert (item.kind, item.responses, item.correct) == ("bon", ["4", "5"], [True, False])
