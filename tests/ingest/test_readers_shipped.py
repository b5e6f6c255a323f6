"""Every reader on the real files shipped in data/."""

from __future__ import annotations

import json

from pipelines.ingest import RawPair, Rejected, detect_format, read_file
from tests.conftest import DATA


def _split(items):
    items = list(items)
    return [i for i in items if isinstance(i, RawPair)], [i for i in items if isinstance(i, Rejected)]


def test_hh_rlhf_test_split_reads_as_multi_turn_pairs():
    path = DATA / "hh-rlhf/helpful-base/test.jsonl.gz"
    assert detect_format(path) == "hh-rlhf"
    pairs, rejected = _split(read_file(path))
    assert len(pairs) + len(rejected) == 2354
    assert len(pairs) > 2300
    assert {r.reason for r in rejected} <= {"empty_response", "identical_responses"}
    for p in pairs:
        assert p.conversation[-1]["role"] == "user" and p.conversation[0]["role"] == "user"
        assert "\n\nHuman:" not in p.chosen or "\n\nAssistant:" not in p.chosen.split("\n\nHuman:")[0]
    multi = [p for p in pairs if len(p.conversation) > 1]
    assert multi and all(p.conversation[1]["role"] == "assistant" for p in multi)
    first = json.loads(next(iter(rejected)).raw)
    assert "chosen" in first


def test_pandalm_majority_votes_and_ties():
    pairs, rejected = _split(read_file(DATA / "pandalm/testset-v1.json"))
    assert len(pairs) + len(rejected) == 999
    ties = [p for p in pairs if p.is_tie]
    assert ties and all(p.label_details["majority"] == 0 for p in ties)
    assert all(p.chosen <= p.rejected for p in ties)  # canonical order
    two = next(p for p in pairs if p.label_details["votes"] == [2, 2, 2])
    assert not two.is_tie and two.label_origin == "human"
    split = next(p for p in pairs if sorted(p.label_details["votes"]) == [1, 2, 2])
    assert split.label_details["majority"] == 2 and split.label_details["has_majority"]
    # a JSON boolean where a response should be is quarantined, not coerced
    assert any(r.reason == "unparseable" and "bool" in r.detail for r in rejected)


def test_pandalm_response2_winner_is_chosen():
    raw = json.loads((DATA / "pandalm/testset-v1.json").read_text())[0]
    assert [raw["annotator1"], raw["annotator2"], raw["annotator3"]] == [2, 2, 2]
    first = next(iter(read_file(DATA / "pandalm/testset-v1.json")))
    assert first.chosen == raw["response2"].strip() and first.rejected == raw["response1"].strip()
    assert first.conversation[0]["content"].endswith(raw["input"].strip())


def test_llmbar_label_picks_output_and_category_is_subset():
    path = DATA / "llmbar/LLMBar/Natural/dataset.json"
    raw = json.loads(path.read_text())
    pairs, rejected = _split(read_file(path))
    assert len(pairs) == 100 and not rejected
    for row, p in zip(raw, pairs, strict=True):
        better = row["output_1"] if row["label"] == 1 else row["output_2"]
        assert p.chosen == better.strip() and p.category == "Natural"


def test_evalbiasbench_bias_type_is_category():
    pairs, rejected = _split(read_file(DATA / "evalbiasbench/biasbench.json"))
    assert len(pairs) == 80 and not rejected
    assert {p.category for p in pairs} >= {"length bias", "concreteness", "empty reference"}


def test_pku_better_and_safer_kept_apart():
    path = DATA / "pku-saferlhf-sample/train.json"
    raw = json.loads(path.read_text())
    better = list(read_file(path))
    safer = list(read_file(path, label="safer"))
    differ = [i for i, r in enumerate(raw) if r["better_response_id"] != r["safer_response_id"]]
    assert differ, "the sample has rows where helpfulness and safety disagree"
    i = differ[0]
    assert better[i].chosen == raw[i][f"response_{raw[i]['better_response_id']}"].strip()
    assert safer[i].chosen == raw[i][f"response_{raw[i]['safer_response_id']}"].strip()
    assert better[i].label_details["safer_response_id"] == raw[i]["safer_response_id"]
    assert better[i].label_details["is_safer_chosen"] is False
