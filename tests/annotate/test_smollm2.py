"""The whole annotation path against a real model: SmolLM2-135M-Instruct served by llama.cpp.

It is a real model but a useless judge (the stack notes measured 50% on LLMBar, always
"1"), so this test shows the plumbing working and the gate refusing to trust it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from lake.records import pair_row, pairs_table
from lake.schemas import RETRIEVAL_QUEUE
from pipelines.annotate import AttributesConfig, GateConfig, JudgeConfig, annotate_attributes, judge_queue
from pipelines.annotate.llm import LLMConfig, make_backend
from pipelines.annotate.local import local_llm_available, start_local_llm
from pipelines.labelapp import append_labels, label_row

LLMBAR = Path(__file__).resolve().parents[2] / "data" / "llmbar" / "LLMBar" / "Natural" / "dataset.json"
pytestmark = [
    pytest.mark.llm_cpu,
    pytest.mark.skipif(local_llm_available() is not None, reason=f"llm-cpu extra absent: {local_llm_available()}"),
]


def _llmbar_pairs(n: int) -> list[dict]:
    rows = json.loads(LLMBAR.read_text())
    rows.sort(key=lambda r: len(r["input"]) + len(r["output_1"]) + len(r["output_2"]))  # the shortest: CPU time
    out = []
    for i, r in enumerate(rows[:n]):
        good, bad = (r["output_1"], r["output_2"]) if r["label"] == 1 else (r["output_2"], r["output_1"])
        out.append(pair_row(r["input"], good, bad, source="llmbar:natural", source_row=i))
    return out


def test_smollm2_end_to_end_and_the_gate_rejects_it(lake):
    pairs = _llmbar_pairs(8)
    gold, target = pairs[:6], pairs[6:]
    lake.append("pairs", pairs_table(pairs))
    append_labels(lake, [label_row(p["pair_id"], "llmbar", "chosen", origin="import:llmbar") for p in gold])
    anchors = [
        {"gold_pair_id": g["pair_id"], "rank": k, "similarity": 0.5, "p": 0.5, "k": 8} for k, g in enumerate(gold[:2])
    ]
    queue = [
        {
            "round": 1,
            "pair_id": t["pair_id"],
            "anchors": anchors,
            "best_similarity": 0.5,
            "route": "judge",
            "queued_at": datetime.now(UTC),
        }
        for t in target
    ]
    lake.append("retrieval_queue", pa.Table.from_pylist(queue, schema=RETRIEVAL_QUEUE))

    base_url, stop = start_local_llm()
    try:
        backend = make_backend(LLMConfig(base_url=base_url, concurrency=1, timeout_s=120))
        attrs = annotate_attributes(lake, backend, AttributesConfig(limit=1, max_tokens=200))
        assert attrs.n_pairs == 1 and attrs.n_ok + attrs.n_failed == 1
        report = judge_queue(
            lake,
            [backend],
            JudgeConfig(samples=1, max_tokens=80, max_chars=1200),
            GateConfig(),
        )
    finally:
        stop()
    gate = report.models[backend.model].gate
    assert gate["n_gold"] == 6 and not gate["is_trusted"] and gate["accuracy"] < 0.7
    assert report.trusted_models == [] and "no trusted judge" in report.message
    assert lake.dataset("judge_labels").count_rows() == 0  # an untrusted judge labels nothing
    stored = lake.dataset("judge_gates").to_table().to_pylist()[0]
    assert stored["reason"].startswith("not trusted") and stored["model"] == backend.model
    print(
        "SmolLM2 gate:",
        {
            k: stored[k]
            for k in ("accuracy", "accuracy_chosen_first", "accuracy_chosen_second", "position_bias", "reason")
        },
    )
