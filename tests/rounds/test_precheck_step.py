"""The pre-check as a round step (issue 17.5): off by default; on, it checks the human queue's
objective pairs and objective gold through a real HTTP endpoint, and Trust measures it on gold."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pyarrow as pa

from lake.records import pair_row, pairs_table
from lake.schemas import RETRIEVAL_QUEUE
from pipelines.annotate import AttributesConfig, annotate_attributes, make_backend
from pipelines.annotate.llm import LLMConfig
from pipelines.labelapp import append_labels, label_row
from pipelines.rounds import latest_by_step
from pipelines.rounds.config import RoundConfig
from pipelines.rounds.runner import run_round
from pipelines.rounds.steps_common import Precheck, Trust
from tests.annotate.fake_openai import FakeOpenAI, attributes_answer, user_text


def _answers(body):
    """Attributes for every pair (objective); a pre-check that calls a response correct iff it says GOOD."""
    response = re.findall(r"<response>(.*?)</response>", user_text(body), re.S)
    if not response:
        return 200, attributes_answer(), 0.0
    ok = "GOOD" in response[-1]
    return 200, json.dumps({"rationale": "checked", "verdict": "correct" if ok else "incorrect"}), 0.0


def _lake(lake, n_gold=32, n_queued=6):
    gold = [pair_row(f"What is {i} + {i}?", f"GOOD: {2 * i}", f"{2 * i + 1}", source_row=i) for i in range(n_gold)]
    queued = [
        pair_row(f"What is {i} * 3?", f"GOOD: {3 * i}", f"{3 * i + 1}", source_row=100 + i) for i in range(n_queued)
    ]
    lake.append("pairs", pairs_table(gold + queued))
    append_labels(lake, [label_row(g["pair_id"], "ann", "chosen") for g in gold])
    now = datetime.now(UTC)
    rows = [{"round": 2, "pair_id": q["pair_id"], "anchors": [], "best_similarity": 0.0, "route": "human",
             "queued_at": now} for q in queued]  # fmt: skip
    lake.append("retrieval_queue", pa.Table.from_pylist(rows, schema=RETRIEVAL_QUEUE))
    return gold, queued


def test_precheck_step_is_off_by_default_and_measured_on_gold_when_on(lake):
    gold, queued = _lake(lake)
    with FakeOpenAI(_answers, model="checker") as server:
        annotate_attributes(lake, make_backend(LLMConfig(base_url=server.base_url)), AttributesConfig())
        off = run_round(
            lake, 1, 1, [Precheck()], RoundConfig(llm=LLMConfig(base_url=server.base_url)), log=lambda _m: None
        )
        assert off.status == "done" and latest_by_step(lake, 1, 1)["precheck"]["status"] == "skipped"
        assert not lake.exists("prechecks")
        cfg = RoundConfig(round=2, llm=LLMConfig(base_url=server.base_url), precheck=True)
        run_round(lake, 2, 1, [Precheck(), Trust()], cfg, log=lambda _m: None)
    step = latest_by_step(lake, 2, 1)["precheck"]
    assert step["status"] == "done"
    assert json.loads(step["counts"]) == {"queued_pairs": len(queued), "gold_pairs": len(gold), "checked": 2 * 38}
    trust = {r["source_id"]: r for r in lake.dataset("source_trust").to_table().to_pylist() if r["round"] == 2}
    checker = trust["checker"]
    assert (checker["source_kind"], checker["n"], checker["accuracy"]) == ("precheck", 32, 1.0)
    assert checker["ci_low"] >= 0.6  # clears the dbt trust rule's default bound (30+ gold pairs, lower end 0.6)
