"""Stage 2 triage: each uncertain pair is queued with its nearest gold pairs, which the judges show.

Real parts: a lake of real prompts (paraphrase groups plus unrelated prompts), human labels,
MiniLM embeddings from the Stage-2 embed step, the Triage step, and the judges' own
``demonstrations``. The LLM backend is configured but never contacted: triage only needs to
know that one exists.
"""

from __future__ import annotations

import numpy as np
import pytest

from lake.labels import gold_verdicts
from lake.records import pairs_table
from pipelines.annotate import LLMConfig
from pipelines.annotate.judge import MAX_DEMOS, demonstrations
from pipelines.retrieval.anchors import gold_anchors
from pipelines.rounds.config import RoundConfig
from pipelines.rounds.stage2 import EmbedForJudges, Triage
from pipelines.rounds.step import RoundContext
from tests.retrieval.conftest import human_label, make_pairs, prompts, put, rm_run, rm_score

ROUND = 7
UNUSED_BACKEND = {"llm": LLMConfig(base_url="http://127.0.0.1:9/v1", model="never-called")}
GOLD = [
    "How do I reverse a list in Python?",
    "What is the capital city of France?",
    "How can I get rid of a headache without taking medication?",
    "Write a haiku about autumn leaves.",
    "Explain how photosynthesis works in plants.",
    "What is the population of Tokyo?",
    "How do I sort a dictionary by value in Python?",
    "Give me a recipe for chocolate chip cookies.",
    "Why is the sky blue?",
    "How does compound interest work?",
]
# Their nearest gold pair is the one asking the same thing in other words.
PARAPHRASE_OF = {
    "What is the way to reverse a Python list?": GOLD[0],
    "In Python, how can I reverse a list?": GOLD[0],
    "Which city is the capital of France?": GOLD[1],
    "What are ways to relieve a headache without medicine?": GOLD[2],
}
TIED = "What is the capital city of Germany?"  # two annotators disagree: no gold verdict
DISCARDED = "What causes earthquakes?"


@pytest.fixture
def stage2_lake(lake, monkeypatch):
    """Pairs, gold (one rejected verdict, one tie, one discard), and the best RM's p for every pair."""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    rows = make_pairs(prompts())
    lake.append("pairs", pairs_table(rows))
    ids = {r["conversation"][0]["content"]: r["pair_id"] for r in rows}
    labels = [human_label(ids[t], "rejected" if t == GOLD[1] else "chosen") for t in GOLD]
    tie = [human_label(ids[TIED], "chosen"), {**human_label(ids[TIED], "rejected"), "annotator": "other"}]
    put(lake, "human_labels", [*labels, *tie, human_label(ids[DISCARDED], "discard")])
    put(lake, "rm_runs", [rm_run("best", "best")])
    # Uncertain (p <= 0.75): the paraphrases, one gold pair, the tied pair and two unrelated ones.
    uncertain = {*PARAPHRASE_OF, GOLD[0], TIED, "Describe the water cycle.", "What is a prime number?"}
    probs = {pid: (0.3 if text in uncertain else 0.9) for text, pid in ids.items()}
    probs[ids[GOLD[2]]] = 0.8  # a gold pair's p travels with it as an anchor
    put(lake, "rm_scores", [rm_score("best", pid, p) for pid, p in probs.items()])
    return lake, ids, {ids[t] for t in uncertain}, probs


def _ctx(lake, **config) -> RoundContext:
    return RoundContext(lake, ROUND, 2, RoundConfig(round=ROUND, stage=2, **config), facts={"best_run_id": "best"})


def _cosine_order(lake, pid: str, gold: set[str]) -> list[tuple[str, float]]:
    """Brute force over the stored vectors: gold pairs by cosine similarity to ``pid`` (unit vectors)."""
    table = lake.dataset("embeddings").to_table(columns=["pair_id", "vector"]).to_pylist()
    vec = {r["pair_id"]: np.asarray(r["vector"], dtype=np.float32) for r in table}
    sims = [(g, float(vec[pid] @ vec[g])) for g in gold if g != pid]
    return sorted(sims, key=lambda s: (-s[1], s[0]))


def test_triage_queues_uncertain_pairs_with_their_nearest_gold_as_demonstrations(stage2_lake):
    lake, ids, uncertain, probs = stage2_lake
    ctx = _ctx(lake, **UNUSED_BACKEND)
    assert EmbedForJudges().run(ctx).status == "done"
    result = Triage().run(ctx)
    assert result.counts == {"confident": len(ids) - len(uncertain), "uncertain": len(uncertain),
                             "queued": len(uncertain), "without_anchors": 0}  # fmt: skip

    queue = lake.dataset("retrieval_queue").to_table(filter=f"round = {ROUND}").to_pylist()
    assert {r["pair_id"] for r in queue} == uncertain and {r["route"] for r in queue} == {"judge"}
    gold = set(gold_verdicts(lake))
    assert ids[TIED] not in gold and ids[DISCARDED] not in gold and len(gold) == len(GOLD)
    for row in queue:
        anchors = row["anchors"]
        assert len(anchors) == MAX_DEMOS  # 10 gold pairs: always 8 to show, even for a gold pair itself
        linked = {a["gold_pair_id"] for a in anchors}
        assert linked <= gold and row["pair_id"] not in linked
        assert [a["rank"] for a in anchors] == list(range(1, len(anchors) + 1))
        sims = [a["similarity"] for a in anchors]
        assert sims == sorted(sims, reverse=True) and row["best_similarity"] == sims[0]
        assert all(a["k"] == MAX_DEMOS and a["p"] == pytest.approx(probs[a["gold_pair_id"]]) for a in anchors)
        expected = _cosine_order(lake, row["pair_id"], gold)[:MAX_DEMOS]
        assert [a["gold_pair_id"] for a in anchors] == [g for g, _ in expected]
        assert sims == pytest.approx([s for _, s in expected], abs=1e-5)
    by_pair = {r["pair_id"]: r for r in queue}
    for text, gold_text in PARAPHRASE_OF.items():
        assert by_pair[ids[text]]["anchors"][0]["gold_pair_id"] == ids[gold_text], text
        assert by_pair[ids[text]]["best_similarity"] > 0.7

    demos = demonstrations(lake, queue)
    verdicts = gold_verdicts(lake)
    for row in queue:
        shown = demos[row["pair_id"]]
        assert 0 < len(shown) <= MAX_DEMOS
        assert [d["pair"]["pair_id"] for d in shown] == [a["gold_pair_id"] for a in row["anchors"]]
        assert all(d["verdict"] == verdicts[d["pair"]["pair_id"]] for d in shown)
    france = demos[ids["Which city is the capital of France?"]][0]
    assert france["pair"]["conversation"][0]["content"] == GOLD[1] and france["verdict"] == "rejected"

    # A re-run replaces the round's rows instead of adding to them.
    Triage().run(ctx)
    assert lake.dataset("retrieval_queue").count_rows(filter=f"round = {ROUND}") == len(uncertain)


def test_gold_anchors_takes_k_and_handles_pairs_without_a_vector(stage2_lake):
    lake, ids, _, _ = stage2_lake
    assert gold_anchors(lake, [ids[GOLD[0]]]) == {ids[GOLD[0]]: []}  # nothing embedded yet
    EmbedForJudges().run(_ctx(lake, **UNUSED_BACKEND))
    pid = ids["In Python, how can I reverse a list?"]
    anchors = gold_anchors(lake, [pid, pid, "0" * 32], k=3)
    assert anchors["0" * 32] == []  # not a pair: no vector, no anchors
    assert anchors[pid][0]["gold_pair_id"] == ids[GOLD[0]] and len(anchors[pid]) == 3
    assert all(a["p"] is None and a["k"] == 3 for a in anchors[pid])
    with pytest.raises(ValueError, match="at most 8"):
        gold_anchors(lake, [pid], k=MAX_DEMOS + 1)


def test_without_a_backend_nothing_is_embedded_or_queued(stage2_lake):
    lake, ids, uncertain, _ = stage2_lake
    ctx = _ctx(lake)
    assert EmbedForJudges().run(ctx).status == "skipped"
    assert not lake.exists("embeddings")
    result = Triage().run(ctx)
    assert result.counts == {"confident": len(ids) - len(uncertain), "uncertain": len(uncertain)}
    assert lake.dataset("retrieval_queue").count_rows() == 0
