"""Small lakes for the retrieval tests, and one MiniLM encoder shared by all of them."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from lake import Lake
from lake.records import pair_row, pairs_table
from lake.schemas import ATTRIBUTES, HUMAN_LABELS, JUDGE_GATES, JUDGE_LABELS, RM_RUNS, RM_SCORES

NOW = datetime(2026, 1, 1, tzinfo=UTC)

# Real paraphrases: each group asks one thing in different words.
PARAPHRASES = [
    [
        "How do I reverse a list in Python?",
        "What is the way to reverse a Python list?",
        "In Python, how can I reverse a list?",
    ],
    [
        "What is the capital city of France?",
        "Which city is the capital of France?",
    ],
    [
        "How can I get rid of a headache without taking medication?",
        "What are ways to relieve a headache without medicine?",
    ],
]
# Unrelated prompts, some on neighbouring topics, none a paraphrase of another.
UNRELATED = [
    "Write a haiku about autumn leaves.",
    "Explain how photosynthesis works in plants.",
    "What is the population of Tokyo?",
    "How do I sort a dictionary by value in Python?",
    "What is the capital city of Germany?",
    "Give me a recipe for chocolate chip cookies.",
    "Why is the sky blue?",
    "Summarise the plot of Romeo and Juliet.",
    "How do I change a flat tyre on a bicycle?",
    "What are the health benefits of green tea?",
    "Translate 'good morning' into Spanish.",
    "How does compound interest work?",
    "What causes earthquakes?",
    "Suggest a name for a pet goldfish.",
    "How many legs does a spider have?",
    "What is the difference between TCP and UDP?",
    "Recommend a good book about World War II.",
    "How do I make cold brew coffee?",
    "Explain the rules of chess castling.",
    "What is a prime number?",
    "How do I write a for loop in JavaScript?",
    "What should I pack for a week of hiking?",
    "Describe the water cycle.",
    "How do vaccines train the immune system?",
    "What is the tallest mountain in Africa?",
]


@pytest.fixture(scope="session")
def encoder():
    from pipelines.retrieval.encoder import Encoder

    return Encoder(threads=2)


def prompts() -> list[str]:
    return [p for group in PARAPHRASES for p in group] + UNRELATED


def make_pairs(texts: list[str]) -> list[dict]:
    return [pair_row(t, f"A helpful answer to: {t}", "I don't know.", source_row=i) for i, t in enumerate(texts)]


@pytest.fixture
def small_lake(lake: Lake) -> tuple[Lake, list[dict]]:
    rows = make_pairs(prompts())
    lake.append("pairs", pairs_table(rows))
    return lake, rows


def human_label(pair_id: str, verdict: str = "chosen", round_: int = 1) -> dict:
    return {
        "label_id": f"h-{pair_id}-{verdict}", "pair_id": pair_id, "round": round_, "annotator": "ann",
        "verdict": verdict, "is_chosen_shown_first": True, "note": None, "tools": [], "origin": "app",
        "labeled_at": NOW,
    }  # fmt: skip


def judge_label(pair_id: str, model: str, round_: int = 1) -> dict:
    return {
        "pair_id": pair_id, "round": round_, "model": model, "template_version": "v1", "sample": 0,
        "is_chosen_shown_first": True, "vote": "chosen", "rationale": None, "raw_output": None,
        "n_demonstrations": 0, "judged_at": NOW,
    }  # fmt: skip


def judge_gate(model: str, trusted: bool, round_: int = 1) -> dict:
    return {
        "round": round_, "model": model, "template_version": "v1", "n_gold": 10, "accuracy": 0.9 if trusted else 0.5,
        "accuracy_chosen_first": 0.9, "accuracy_chosen_second": 0.9, "position_bias": 0.5, "threshold": 0.7,
        "is_trusted": trusted, "measured_at": NOW,
    }  # fmt: skip


def rm_run(run_id: str, role: str, created_at: datetime = NOW) -> dict:
    return {
        "run_id": run_id, "run_dir": f"/runs/{run_id}", "role": role, "round": 1, "backbone": "minilm",
        "train_table": "pairs", "train_version": 1, "train_tag": None, "gold_accuracy": 0.7, "created_at": created_at,
    }  # fmt: skip


def rm_score(run_id: str, pair_id: str, p: float) -> dict:
    return {
        "run_id": run_id, "pair_id": pair_id, "reward_chosen": 0.0, "reward_rejected": 0.0, "margin": 0.0,
        "p": p, "scored_at": NOW,
    }  # fmt: skip


def attribute(pair_id: str, category: str, objectivity: str = "objective", controversy: str = "low") -> dict:
    return {
        "pair_id": pair_id, "status": "ok", "task_category": category, "objectivity": objectivity,
        "controversiality": controversy, "desired_attributes": ["correctness"], "guideline": "be right",
        "raw_output": None, "error": None, "model": "test-llm", "template_version": "v1", "annotated_at": NOW,
    }  # fmt: skip


SCHEMAS = {
    "human_labels": HUMAN_LABELS, "judge_labels": JUDGE_LABELS, "judge_gates": JUDGE_GATES,
    "rm_runs": RM_RUNS, "rm_scores": RM_SCORES, "attributes": ATTRIBUTES,
}  # fmt: skip


def put(lake: Lake, table: str, rows: list[dict]) -> None:
    lake.append(table, pa.Table.from_pylist(rows, schema=SCHEMAS[table]))
