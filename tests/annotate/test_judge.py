"""Judges against real HTTP endpoints: gate on gold, demonstrations, votes, merge rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
from fake_openai import FakeOpenAI, oracle_judge

from lake.records import pair_row, pairs_table
from lake.schemas import RETRIEVAL_QUEUE
from pipelines.annotate import GateConfig, JudgeConfig, judge_queue, make_backend, merge_votes, trusted_models
from pipelines.annotate.llm import LLMConfig
from pipelines.labelapp import append_labels, label_row


def _seed(lake, n_gold=12, n_target=4):
    gold = [pair_row(f"gold question {i}?", f"GOOD answer {i}", f"bad answer {i}", source_row=i) for i in range(n_gold)]
    target = [
        pair_row(f"new question {i}?", f"GOOD reply {i}", f"poor reply {i}", source_row=100 + i)
        for i in range(n_target)
    ]
    lake.append("pairs", pairs_table(gold + target))
    append_labels(lake, [label_row(g["pair_id"], "ann", "chosen") for g in gold])
    now = datetime.now(UTC)
    anchors = [
        {"gold_pair_id": g["pair_id"], "rank": r, "similarity": 0.9, "p": 0.4, "k": 8} for r, g in enumerate(gold[:10])
    ]
    queue = [
        {
            "round": 1,
            "pair_id": t["pair_id"],
            "anchors": anchors,
            "best_similarity": 0.9,
            "route": "judge",
            "queued_at": now,
        }
        for t in target
    ]
    lake.append("retrieval_queue", pa.Table.from_pylist(queue, schema=RETRIEVAL_QUEUE))
    return gold, target


def test_gate_rejects_a_biased_judge_and_the_trusted_one_labels(lake):
    _seed(lake, n_gold=32)
    with (
        FakeOpenAI(oracle_judge(), model="oracle") as good,
        FakeOpenAI(oracle_judge(first_always=True), model="always-one") as bad,
    ):
        backends = [make_backend(LLMConfig(base_url=s.base_url)) for s in (good, bad)]
        report = judge_queue(lake, backends, JudgeConfig(samples=3), GateConfig())
        gates = {r["model"]: r for r in lake.dataset("judge_gates").to_table().to_pylist()}
        assert gates["oracle"]["is_trusted"] and gates["oracle"]["accuracy"] == 1.0
        assert gates["oracle"]["position_bias"] == 0.5
        biased = gates["always-one"]
        assert not biased["is_trusted"] and biased["accuracy"] == 0.5 and biased["position_bias"] == 1.0
        assert biased["accuracy_chosen_first"] == 1.0 and biased["accuracy_chosen_second"] == 0.0
        assert "not trusted: vote accuracy 0.500 on 32 gold pairs" in biased["reason"]
        trust = {r["source_id"]: r for r in lake.dataset("source_trust").to_table().to_pylist()}
        oracle, always = trust["oracle|judge.v1"], trust["always-one|judge.v1"]
        assert (oracle["n"], oracle["accuracy"], oracle["both_orders_consistency"]) == (32, 1.0, 1.0)
        assert oracle["first_shown_share"] == 0.5 and oracle["ci_low"] > 0.85
        # measured the way it votes: a pair's verdict is the majority over both orders, so a judge
        # that always picks the first-shown side ties itself on every pair and is right on none
        assert (always["accuracy"], always["first_shown_share"], always["both_orders_consistency"]) == (0.0, 1.0, 0.0)
        assert report.trusted_models == ["oracle"] and trusted_models(lake, 1) == ["oracle"]
        assert "not trusted" in report.models["always-one"].gate["reason"]
        assert len(bad.requests) == 192  # the gate only: 32 gold pairs x 3 samples x 2 orders, no votes
        # the trusted judge's prompts: 8 demonstrations with human verdicts, then the target
        judge_prompts = [b["messages"][-1]["content"] for b in good.requests if "new question" in str(b)]
        assert len(judge_prompts) == 12  # 4 pairs x 3 samples
        assert all(p.count("Human verdict") == 8 and "<candidate_2>" in p.split("<target>")[1] for p in judge_prompts)
        assert all("gold question" in p.split("<target>")[0] for p in judge_prompts)
    votes = lake.dataset("judge_labels").to_table().to_pylist()
    assert {v["model"] for v in votes} == {"oracle"} and len(votes) == 12
    assert all(v["vote"] == "chosen" and v["rationale"] and v["n_demonstrations"] == 8 for v in votes)
    assert {v["is_chosen_shown_first"] for v in votes} == {True, False}  # seeded random order
    assert sorted({v["sample"] for v in votes}) == [0, 1, 2]
    assert report.n_chosen == 4 and report.n_undecided == 0
    assert report.models["oracle"].position_bias is not None


def test_too_little_gold_means_no_trusted_judge(lake):
    _seed(lake, n_gold=3)
    with FakeOpenAI(oracle_judge(), model="oracle") as good:
        report = judge_queue(
            lake, [make_backend(LLMConfig(base_url=good.base_url))], JudgeConfig(samples=1), GateConfig()
        )
    assert report.trusted_models == [] and "no trusted judge" in report.message
    reason = report.models["oracle"].gate["reason"]
    assert reason.startswith("not trusted: vote accuracy 1.000 on 3 gold pairs") and ">= 30 gold pairs" in reason
    assert lake.dataset("judge_labels").count_rows() == 0


def _votes(pair, model, *votes):
    return [{"pair_id": pair, "model": model, "vote": v} for v in votes]


def test_merge_rules():
    rows = (
        _votes("a", "m1", "chosen", "chosen", "rejected")
        + _votes("a", "m2", "chosen")
        + _votes("a", "m3", "rejected")
        + _votes("b", "m1", "chosen", "rejected")
        + _votes("b", "m2", "rejected", "invalid")
        + _votes("c", "m1", "invalid")
    )
    majority = merge_votes(rows, "majority")
    assert majority["a"]["verdict"] == "chosen"  # m1 and m2 say chosen, m3 rejected
    assert majority["b"]["verdict"] == "rejected" and majority["b"]["models"]["m1"] is None  # m1 tied with itself
    assert majority["c"]["verdict"] is None
    assert merge_votes(rows, "unanimous")["a"]["verdict"] is None
    assert merge_votes(rows, "unanimous")["b"]["verdict"] is None  # m1 undecided
    assert merge_votes(rows, "any")["b"]["verdict"] == "rejected"
    assert merge_votes(rows, "majority", models=["m3"])["a"]["verdict"] == "rejected"
