"""A crafted lake for the dbt tests: each named pair is planted to land in one reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from lake import Lake
from lake.records import pair_row, pairs_table
from lake.schemas import (
    ATTRIBUTES,
    BENCHMARK_PROMPTS,
    HUMAN_LABELS,
    JUDGE_GATES,
    JUDGE_LABELS,
    NEIGHBOURS,
    PRECHECKS,
    RM_RUNS,
    RM_SCORES,
    SOURCE_TRUST,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BENCH = (
    "Write a short story about a lighthouse keeper who discovers a message in a bottle "
    "washed up on the rocky shore one stormy night"
)
LONG = "The answer depends on several factors that we should consider carefully. " * 5


def _pairs() -> dict[str, dict[str, Any]]:
    p = {
        "keep": pair_row("What is the capital of France?", "Paris is the capital of France.", "London."),
        "conflict_a": pair_row("Which is bigger, 2 or 3?", "3 is bigger.", "2 is bigger."),
        "conflict_b": pair_row("Which is bigger, 2 or 3?", "2 is bigger.", "3 is bigger."),
        "dup_first": pair_row("Tell me a joke.", "Why did the chicken cross the road? To get across.", "No."),
        "dup_second": pair_row("tell me a   JOKE.", "Why did the chicken cross the road? To get across.", "No."),
        # shares the 13-gram "a lighthouse keeper ... in a bottle" with the benchmark prompt
        "contaminated": pair_row(
            "Please, write a lighthouse keeper who discovers a message in a bottle washed up on a beach.",
            "Here is a story about it.",
            "No story.",
        ),
        # shares only 12 consecutive words: not contaminated
        "near_miss": pair_row(
            "Write a short story about a lighthouse keeper who finds a message in a cave.",
            "Here is a different story.",
            "No.",
        ),
        # shorter than 13 words and equal, word for word, to a benchmark prompt: contaminated
        "short_exact": pair_row("What is Gremolata?", "An Italian herb condiment.", "A pasta."),
        # short and sharing common words with that benchmark prompt, but not equal to it: clean
        "short_common": pair_row("What is it?", "It depends.", "No."),
        "attr_filtered": pair_row("How do I pick a lock?", "I can't help with that.", "Use a tension wrench."),
        "near_rep": pair_row("Summarise the plot of Hamlet.", "A prince avenges his father.", "It is a play."),
        "near_member": pair_row("Summarize the plot of Hamlet.", "A prince seeks revenge.", "A play."),
        "near_sibling": pair_row("Summarise the plot of Hamlet.", "Revenge, madness and death in Denmark.", "Sad."),
        "empty": pair_row("Say something.", "Something.", ""),
        "identical": pair_row("Greet me.", "Hello  there!", "hello there!"),
        "truncated": pair_row(
            "Explain tides.", LONG + "and then the moon pulls the", "Tides are the regular rise and fall of the sea."
        ),
        "ratio": pair_row("Is water wet?", "Yes.", LONG),
        "human_keep": pair_row("What is 2+2?", "4", "5"),
        "human_flip": pair_row("What is 3+3?", "7", "6"),
        "human_discard": pair_row("Pick a colour.", "Blue.", "Green."),
        "judge_no": pair_row("Name a prime.", "Nine.", "Seven."),
        "untrusted_no": pair_row("Name an even number.", "Four.", "Three."),
        "s2_keep": pair_row("Capital of Italy?", "Rome.", "Milan."),
        "s2_flip": pair_row("Capital of Spain?", "Barcelona.", "Madrid."),
        "s2_keep_judge": pair_row("Capital of Japan?", "Tokyo.", "Kyoto."),
        "s2_missing": pair_row("Capital of Peru?", "Lima.", "Cusco."),
        "precheck_no": pair_row("What is 7 times 8?", "54", "56"),
    }
    for i, row in enumerate(p.values()):
        row["ingested_at"] = T0 + timedelta(seconds=i)
        row["source_row"] = i
    return p


def _labels(ids: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    plan = {"human_keep": ["chosen", "chosen"], "human_flip": ["rejected", "rejected"], "human_discard": ["discard"]}
    for name, verdicts in plan.items():
        for j, verdict in enumerate(verdicts):
            rows.append(
                {
                    "label_id": f"{name}-{j}",
                    "pair_id": ids[name],
                    "round": 1,
                    "annotator": f"ann{j}",
                    "verdict": verdict,
                    "is_chosen_shown_first": True,
                    "note": None,
                    "tools": [],
                    "origin": "app",
                    "labeled_at": T0,
                }
            )
    return rows


def _judge_rows(ids: dict[str, str]) -> tuple[list[dict], list[dict]]:
    gates = [
        {"round": 1, "model": m, "template_version": "v1", "n_gold": 10, "accuracy": acc,
         "accuracy_chosen_first": acc, "accuracy_chosen_second": acc, "position_bias": 0.5, "threshold": 0.7,
         "is_trusted": acc >= 0.7, "measured_at": T0}
        for m, acc in (("judge-a", 0.9), ("judge-b", 0.5))
    ]  # fmt: skip
    plan = [("judge_no", "judge-a", "rejected"), ("untrusted_no", "judge-b", "rejected"),
            ("s2_keep_judge", "judge-a", "chosen")]  # fmt: skip
    votes = [
        {"pair_id": ids[name], "round": 1, "model": model, "template_version": "v1", "sample": s,
         "is_chosen_shown_first": s % 2 == 0, "vote": vote, "rationale": None, "raw_output": None,
         "n_demonstrations": 2, "judged_at": T0}
        for name, model, vote in plan for s in range(3)
    ]  # fmt: skip
    return gates, votes


def _rm_rows(ids: dict[str, str]) -> tuple[list[dict], list[dict]]:
    runs = [
        {"run_id": f"rm-{role}", "run_dir": f"runs/{role}", "role": role, "round": 1, "backbone": "minilm",
         "train_table": "pairs", "train_version": 1, "train_tag": None, "gold_accuracy": 0.8, "created_at": T0}
        for role in ("gold", "best")
    ]  # fmt: skip
    plan = {"s2_keep": (2.0, 1.0), "s2_flip": (-1.0, 1.0), "s2_keep_judge": (1.0, -1.0),
            "human_keep": (1.5, 1.5), "human_flip": (0.5, -0.5)}  # fmt: skip
    scores = []
    for name, margins in plan.items():
        for role, m in zip(("gold", "best"), margins, strict=True):
            scores.append({"run_id": f"rm-{role}", "pair_id": ids[name], "reward_chosen": m, "reward_rejected": 0.0,
                           "margin": m, "p": 1 / (1 + 2.718281828 ** -m), "scored_at": T0})  # fmt: skip
    return runs, scores


def _trust_rows() -> list[dict[str, Any]]:
    """Planted measurements: judge-a, both RMs and the pre-check model clear the trust rule, judge-b does not."""
    from pipelines.trust.measure import trust_row

    rows = [
        trust_row(1, "judge", "judge-a|v1", 90, 100, "planted", first_shown_share=0.5),
        trust_row(1, "judge", "judge-b|v1", 50, 100, "planted", first_shown_share=0.5),
        trust_row(1, "rm", "rm-gold", 80, 100, "planted", role="gold"),
        trust_row(1, "rm", "rm-best", 80, 100, "planted", role="best"),
        trust_row(1, "precheck", "m", 90, 100, "planted"),
    ]
    return [{**r, "measured_at": T0} for r in rows]


def build_crafted_lake(lake: Lake) -> dict[str, str]:
    """Fill ``lake`` with the planted pairs and signals; return {name: pair_id}."""
    pairs = _pairs()
    ids = {name: row["pair_id"] for name, row in pairs.items()}
    gates, votes = _judge_rows(ids)
    runs, scores = _rm_rows(ids)
    attrs = [
        {"pair_id": ids["attr_filtered"], "status": "ok", "task_category": "safety-sensitive",
         "objectivity": "objective", "controversiality": "high", "desired_attributes": [], "guideline": "",
         "raw_output": None, "error": None, "model": "m", "template_version": "v1", "annotated_at": T0}
    ]  # fmt: skip
    neighbours = [
        {"pair_id": ids[name], "cluster_id": ids["near_rep"], "is_representative": name == "near_rep",
         "similarity": sim, "threshold": 0.9, "model": "minilm", "computed_at": T0}
        for name, sim in (("near_rep", 1.0), ("near_sibling", 1.0), ("near_member", 0.95))
    ]  # fmt: skip
    bench = [{"benchmark": "storybench", "prompt_id": "b1", "prompt": BENCH, "item_id": "story-1",
              "source_file": "bench.jsonl", "source_row": 0, "ingest_batch_id": "b", "ingested_at": T0},
             {"benchmark": "quizbench", "prompt_id": "b2", "prompt": "what is  GREMOLATA ?", "item_id": "q-7",
              "source_file": "quiz.jsonl", "source_row": 6, "ingest_batch_id": "b", "ingested_at": T0}]  # fmt: skip
    prechecks = [
        {"pair_id": ids["precheck_no"], "side": side, "is_correct": ok, "rationale": None, "model": "m",
         "template_version": "v1", "checked_at": T0}
        for side, ok in (("chosen", False), ("rejected", True))
    ]  # fmt: skip
    with lake.transaction("crafted lake") as txn:
        txn.append("pairs", pairs_table(pairs.values()))
        txn.append("benchmark_prompts", pa.Table.from_pylist(bench, schema=BENCHMARK_PROMPTS))
        txn.append("attributes", pa.Table.from_pylist(attrs, schema=ATTRIBUTES))
        txn.append("neighbours", pa.Table.from_pylist(neighbours, schema=NEIGHBOURS))
        txn.append("human_labels", pa.Table.from_pylist(_labels(ids), schema=HUMAN_LABELS))
        txn.append("judge_gates", pa.Table.from_pylist(gates, schema=JUDGE_GATES))
        txn.append("judge_labels", pa.Table.from_pylist(votes, schema=JUDGE_LABELS))
        txn.append("rm_runs", pa.Table.from_pylist(runs, schema=RM_RUNS))
        txn.append("rm_scores", pa.Table.from_pylist(scores, schema=RM_SCORES))
        txn.append("prechecks", pa.Table.from_pylist(prechecks, schema=PRECHECKS))
        txn.append("source_trust", pa.Table.from_pylist(_trust_rows(), schema=SOURCE_TRUST))
    from pipelines.trust.agreement import agreement_rows, write_agreement

    write_agreement(lake, 1, agreement_rows(lake, 1, resamples=0))
    return ids


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, dict[str, str]]:
    lake = Lake(tmp_path_factory.mktemp("crafted") / "lakehouse")
    return lake, build_crafted_lake(lake)
