"""Readers for formats not shipped in data/, on files written in their exact layout."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.ingest import RawPair, Rejected, detect_format, read_file
from tests.ingest.helpers import write_arena_csv, write_jsonl


def _all(path, **kw):
    return list(read_file(path, **kw))


def test_autoj_labels_0_1_2_with_tie_and_scenario(tmp_path):
    rows = [
        {
            "scenario": "code_generation",
            "label": 0,
            "prompt": "Sort a list",
            "response 1": "sorted(x)",
            "response 2": "x",
        },
        {"scenario": "chitchat", "label": 1, "prompt": "Hi", "response 1": "go away", "response 2": "Hello!"},
        {"scenario": "chitchat", "label": 2, "prompt": "Hey", "response 1": "Yo", "response 2": "Hey there"},
        {"scenario": "chitchat", "label": 3, "prompt": "Hey", "response 1": "a", "response 2": "b"},
    ]
    path = write_jsonl(tmp_path / "testdata_pairwise.jsonl", rows)
    assert detect_format(path) == "autoj"
    a, b, tie, bad = _all(path)
    assert (a.chosen, a.rejected, a.category) == ("sorted(x)", "x", "code_generation")
    assert (b.chosen, b.rejected) == ("Hello!", "go away")
    assert tie.is_tie and (tie.chosen, tie.rejected) == ("Hey there", "Yo")  # canonical (sorted) order
    assert isinstance(bad, Rejected) and bad.reason == "unknown_label" and "3" in bad.detail


def test_arena_csv_multi_turn_one_hot_and_tie(tmp_path):
    rows = [
        {"id": 1, "model_a": "m1", "model_b": "m2", "prompt": ["What is 2+2?"], "response_a": ["4"],
         "response_b": ["5"], "winner_model_a": 1, "winner_model_b": 0, "winner_tie": 0},
        {"id": 2, "model_a": "m1", "model_b": "m2", "prompt": ["Hi", "Tell a joke"],
         "response_a": ["Hello", "No."], "response_b": ["Hey", "Why did the chicken..."],
         "winner_model_a": 0, "winner_model_b": 1, "winner_tie": 0},
        {"id": 3, "model_a": "m1", "model_b": "m2", "prompt": ["Pick"], "response_a": ["A"], "response_b": ["B"],
         "winner_model_a": 0, "winner_model_b": 0, "winner_tie": 1},
        {"id": 4, "model_a": "m1", "model_b": "m2", "prompt": ["x"], "response_a": ["A"], "response_b": ["B"],
         "winner_model_a": 1, "winner_model_b": 1, "winner_tie": 0},
    ]  # fmt: skip
    path = write_arena_csv(tmp_path / "train.csv", rows)
    assert detect_format(path) == "arena"
    one, multi, tie, bad = _all(path)
    assert (one.chosen, one.rejected, one.conversation) == ("4", "5", [{"role": "user", "content": "What is 2+2?"}])
    assert [t["role"] for t in multi.conversation] == ["user", "assistant", "user"]
    assert multi.conversation[1]["content"] == "Hey"  # the preferred model's history
    assert multi.chosen == "Why did the chicken..." and multi.label_details["histories_differ"] is True
    assert tie.is_tie and tie.label_details["winner"] == "tie"
    assert bad.reason == "unknown_label"


def test_ultrafeedback_binarized_messages_and_scores(tmp_path):
    row = {
        "prompt": "Name a colour.", "prompt_id": "abc",
        "chosen": [{"content": "Name a colour.", "role": "user"}, {"content": "Blue.", "role": "assistant"}],
        "rejected": [{"content": "Name a colour.", "role": "user"}, {"content": "Seven.", "role": "assistant"}],
        "messages": [], "score_chosen": 8.0, "score_rejected": 3.5,
    }  # fmt: skip
    path = write_jsonl(tmp_path / "train_prefs.jsonl", [row])
    assert detect_format(path) == "flat"
    (p,) = _all(path)
    assert p.conversation == [{"role": "user", "content": "Name a colour."}]  # prompt not repeated
    assert (p.chosen, p.rejected) == ("Blue.", "Seven.")
    assert p.label_details["margin"] == 4.5


def test_rewardbench_flat_with_subset(tmp_path):
    row = {"prompt": "2+2?", "chosen": "4", "chosen_model": "a", "rejected": "5", "rejected_model": "b",
           "subset": "math-prm", "id": 7}  # fmt: skip
    path = write_jsonl(tmp_path / "filtered.jsonl", [row])
    (p,) = _all(path)
    assert (p.category, p.chosen, p.label_details["chosen_model"]) == ("math-prm", "4", "a")


def test_judgebench_labels(tmp_path):
    rows = [
        {"pair_id": "p1", "original_id": "o1", "source": "mmlu-pro-math", "question": "1+1?",
         "response_model": "gpt", "response_A": "2", "response_B": "3", "label": "A>B"},
        {"pair_id": "p2", "original_id": "o2", "source": "livebench-reasoning", "question": "q",
         "response_model": "gpt", "response_A": "wrong", "response_B": "right", "label": "B>A"},
        {"pair_id": "p3", "original_id": "o3", "source": "x", "question": "q", "response_model": "gpt",
         "response_A": "a", "response_B": "b", "label": "A=B"},
    ]  # fmt: skip
    path = write_jsonl(tmp_path / "gpt.jsonl", rows)
    assert detect_format(path) == "judgebench"
    a, b, bad = _all(path)
    assert (a.chosen, a.category) == ("2", "mmlu-pro-math") and b.chosen == "right"
    assert bad.reason == "unknown_label"


def test_trl_explicit_and_implicit_prompt(tmp_path):
    def turn(role, content):
        return {"role": role, "content": content}

    explicit = {"prompt": [turn("user", "Sky colour?")], "chosen": [turn("assistant", "Blue")],
                "rejected": [turn("assistant", "Green")]}  # fmt: skip
    implicit = {"chosen": [turn("user", "Sky colour?"), turn("assistant", "Blue")],
                "rejected": [turn("user", "Sky colour?"), turn("assistant", "Green")]}  # fmt: skip
    broken = {"chosen": [turn("user", "a"), turn("assistant", "b")],
              "rejected": [turn("user", "DIFFERENT"), turn("assistant", "c")]}  # fmt: skip
    path = write_jsonl(tmp_path / "trl.jsonl", [explicit, implicit, broken])
    assert detect_format(path) == "trl"
    a, b, bad = _all(path)
    assert isinstance(a, RawPair) and (a.conversation, a.chosen) == (b.conversation, b.chosen)
    assert bad.reason == "bad_conversation"


def test_generic_mapping_jsonl_and_parquet(tmp_path):
    rows = [{"question": "Q1", "good": "yes", "bad": "no", "topic": "t"}, {"question": "Q2", "good": "a", "bad": None}]
    path = write_jsonl(tmp_path / "mine.jsonl", rows)
    with pytest.raises(ValueError, match="unknown layout"):
        detect_format(path)
    mapping = "prompt=question,chosen=good,rejected=bad,category=topic"
    ok, missing = _all(path, format="generic", column_map=mapping)
    assert (ok.chosen, ok.category, ok.conversation[0]["content"]) == ("yes", "t", "Q1")
    assert missing.reason == "missing_field" and "bad" in missing.detail
    pq_path = tmp_path / "mine.parquet"
    pq.write_table(pa.Table.from_pylist(rows * 3), pq_path, row_group_size=2)
    items = _all(pq_path, column_map=mapping)  # a mapping implies the generic reader
    assert [i.source_row for i in items] == list(range(6))
    assert [type(i).__name__ for i in items] == ["RawPair", "Rejected"] * 3
    with pytest.raises(ValueError, match="must name a column for rejected"):
        _all(path, format="generic", column_map="prompt=question,chosen=good")


def test_unknown_format_name_and_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_file(tmp_path / "nope.jsonl")
    path = write_jsonl(tmp_path / "x.jsonl", [{"prompt": "p", "chosen": "a", "rejected": "b"}])
    with pytest.raises(ValueError, match="unknown format"):
        read_file(path, format="nonsense")
