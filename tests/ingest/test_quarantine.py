"""Each quarantine reason code, end to end through ingest_paths into the quarantine table."""

from __future__ import annotations

import gzip
import json

from lake.schemas import QUARANTINE_REASONS
from pipelines.ingest import ingest_paths
from pipelines.ingest.hh import split_dialogue
from tests.ingest.helpers import hh, write_jsonl

ROWS = [
    {"prompt": "ok", "chosen": "good", "rejected": "bad"},  # 0 accepted
    '{"prompt": "broken json", "chosen": ',  # 1 unparseable
    {"prompt": "p", "chosen": "only chosen"},  # 2 missing_field
    {"prompt": "p", "chosen": "   ", "rejected": "x"},  # 3 empty_response
    {"prompt": "p", "chosen": "same\r\n", "rejected": "same"},  # 4 identical_responses (after normalisation)
    {
        "prompt": [{"role": "wizard", "content": "x"}],
        "chosen": [{"role": "assistant", "content": "a"}],
        "rejected": [{"role": "assistant", "content": "b"}],
    },  # 5 bad_conversation
]


def test_every_reason_is_quarantined_with_position_and_raw(lake, tmp_path):
    flat = write_jsonl(tmp_path / "flat.jsonl", ROWS)
    labels = write_jsonl(
        tmp_path / "llmbar.jsonl", [{"input": "q", "output_1": "a", "output_2": "b", "label": 3}]
    )  # unknown_label
    dialogue = write_jsonl(tmp_path / "hh.jsonl", [{"chosen": "\n\nHuman: hi", "rejected": "\n\nHuman: ho"}])
    r1 = ingest_paths(lake, [flat], format="flat")
    r2 = ingest_paths(lake, [labels], format="llmbar")
    r3 = ingest_paths(lake, [dialogue], format="hh-rlhf")
    packed = gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in ROWS if isinstance(r, dict)))
    (tmp_path / "cut.jsonl.gz").write_bytes(packed[: len(packed) // 2])  # truncated
    (tmp_path / "fake.jsonl.gz").write_bytes(b"not gzip\n")  # corrupt_file
    (tmp_path / "empty.jsonl").write_bytes(b"")  # empty_file
    r4 = ingest_paths(lake, [tmp_path / n for n in ("cut.jsonl.gz", "fake.jsonl.gz", "empty.jsonl")], format="flat")
    assert (r1.n_read, r1.n_accepted, r1.n_quarantined) == (6, 1, 5)
    assert r2.reasons == {"unknown_label": 1} and r3.reasons == {"unsplittable_dialogue": 1}
    assert {k: v for k, v in r4.reasons.items() if k in ("truncated", "corrupt_file", "empty_file")} == {
        "truncated": 1, "corrupt_file": 1, "empty_file": 1}  # fmt: skip
    q = lake.dataset("quarantine").to_table().to_pylist()
    by_reason = {r["reason"]: r for r in q}
    assert set(by_reason) == set(QUARANTINE_REASONS)
    flat_rows = {r["reason"]: r["source_row"] for r in q if r["source_file"].endswith("flat.jsonl")}
    assert flat_rows == {"unparseable": 1, "missing_field": 2, "empty_response": 3,
                         "identical_responses": 4, "bad_conversation": 5}  # fmt: skip
    assert by_reason["unparseable"]["raw"].startswith('{"prompt": "broken json"')
    assert json.loads(by_reason["missing_field"]["raw"])["chosen"] == "only chosen"
    assert "rejected" in by_reason["missing_field"]["detail"]
    assert "wizard" in by_reason["bad_conversation"]["detail"]


def test_raw_row_is_truncated(lake, tmp_path):
    path = write_jsonl(tmp_path / "big.jsonl", [{"prompt": "p", "chosen": "x" * 100_000, "rejected": "x" * 100_000}])
    ingest_paths(lake, [path], format="flat")
    (row,) = lake.dataset("quarantine").to_table().to_pylist()
    assert row["reason"] == "identical_responses" and len(row["raw"]) == 64 * 1024


def test_hh_fake_assistant_marker_inside_a_response_splits_at_the_shared_turn():
    fake = "Sure.\n\nAssistant: I am also the assistant."
    conv, chosen, rejected = split_dialogue(**hh("Hello?", fake, "No."))
    assert conv == [{"role": "user", "content": " Hello?"}]
    assert chosen.strip() == fake and rejected.strip() == "No."
    # both responses share text and a fake marker: the split must still follow a human turn
    conv, chosen, rejected = split_dialogue(**hh("Q", "Same start\n\nAssistant: tail A", "Same start\n\nAssistant: B"))
    assert len(conv) == 1 and chosen.strip() == "Same start\n\nAssistant: tail A"


def test_hh_multi_turn_with_fake_marker_in_final_turn(lake, tmp_path):
    history = "\n\nHuman: one\n\nAssistant: two\n\nHuman: three\n\nAssistant:"
    row = {"chosen": history + " four\n\nAssistant: five", "rejected": history + " six"}
    path = write_jsonl(tmp_path / "hh.jsonl", [row])
    ingest_paths(lake, [path])
    (pair,) = lake.dataset("pairs").to_table().to_pylist()
    assert [t["content"] for t in pair["conversation"]] == ["one", "two", "three"]
    assert pair["chosen"] == "four\n\nAssistant: five" and pair["rejected"] == "six"
