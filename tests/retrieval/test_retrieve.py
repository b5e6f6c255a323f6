"""Adaptive retrieval: the k rule, exclusions, anchors, routing, determinism."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyarrow as pa
import pytest

from lake import LakeError
from lake.schemas import RETRIEVAL_QUEUE
from pipelines.retrieval import EmbedConfig, RetrieveConfig, embed_pairs, k_for
from pipelines.retrieval.retrieve import retrieve
from pipelines.trust.measure import trust_row, write_rows
from tests.retrieval.conftest import NOW, attribute, human_label, judge_gate, judge_label, put, rm_run, rm_score


@pytest.mark.parametrize(
    ("p", "k"), [(0.0, 8), (0.5, 8), (0.6, 4), (0.75, 2), (0.875, 1), (0.9, 1), (0.99, 1), (1.0, 0)]
)
def test_k_rule_at_its_edges(p, k):
    assert k_for(p) == k
    assert k_for(float(np.float32(p))) == k  # rm_scores stores p as float32


def test_k_rule_scales_with_k_max():
    assert [k_for(p, 16) for p in (0.5, 0.75, 0.9, 1.0)] == [16, 4, 2, 0]


@pytest.fixture
def scored(small_lake, encoder):
    """Gold: the reverse-list prompt (p 0.4, k 8), France (p 0.75, k 2), cookies (p 1.0, k 0).

    Silver: a paraphrase of reverse-list voted by a trusted judge. Queued by round 0:
    the other reverse-list paraphrase. Voted only by an untrusted judge: Germany (eligible).
    """
    lake, rows = small_lake
    embed_pairs(lake, EmbedConfig(progress=False), encoder)
    ids = {r["conversation"][0]["content"]: r["pair_id"] for r in rows}
    g = {
        "reverse": ids["How do I reverse a list in Python?"],
        "france": ids["What is the capital city of France?"],
        "cookies": ids["Give me a recipe for chocolate chip cookies."],
    }
    silver, queued = ids["What is the way to reverse a Python list?"], ids["In Python, how can I reverse a list?"]
    untrusted = ids["What is the capital city of Germany?"]
    discarded = ids["Which city is the capital of France?"]
    put(lake, "human_labels", [human_label(p) for p in g.values()] + [human_label(discarded, "discard")])
    put(lake, "judge_gates", [judge_gate("good-judge", True), judge_gate("bad-judge", False)])
    write_rows(
        lake,
        [
            trust_row(1, "judge", "good-judge|v1", 90, 100, "planted", first_shown_share=0.5),
            trust_row(1, "judge", "bad-judge|v1", 50, 100, "planted", first_shown_share=0.5),
        ],
        "trust",
    )
    put(lake, "judge_labels", [judge_label(silver, "good-judge"), judge_label(untrusted, "bad-judge")])
    old = {"round": 0, "pair_id": queued, "anchors": [], "best_similarity": 0.9, "route": "judge", "queued_at": NOW}
    lake.append("retrieval_queue", pa.Table.from_pylist([old], schema=RETRIEVAL_QUEUE))
    put(
        lake,
        "rm_runs",
        [
            rm_run("old", "best", NOW - timedelta(days=1)),
            rm_run("new", "silver"),
            rm_run("x", "adhoc", NOW + timedelta(days=1)),
        ],
    )
    probs = {g["reverse"]: 0.4, g["france"]: 0.75, g["cookies"]: 1.0}
    put(lake, "rm_scores", [rm_score("new", p, v) for p, v in probs.items()] + [rm_score("old", g["reverse"], 0.99)])
    return lake, g, {"silver": silver, "queued": queued, "untrusted": untrusted, "discarded": discarded}


def _queue(lake, round_=1) -> list[dict]:
    return lake.dataset("retrieval_queue").to_table(filter=f"round = {round_}").to_pylist()


def test_each_gold_pair_gets_its_k_and_exclusions_hold(scored):
    lake, g, other = scored
    report = retrieve(lake, RetrieveConfig(round=1, human_share=0.0))
    assert report.source == "run:new"  # the latest best/silver run, not the newer adhoc one
    assert (report.n_gold, report.n_anchors, report.k_total, report.n_short) == (3, 2, 10, 0)
    queue = _queue(lake)
    links = [(a["gold_pair_id"], a["k"]) for row in queue for a in row["anchors"]]
    assert links.count((g["reverse"], 8)) == 8 and links.count((g["france"], 2)) == 2
    assert not any(gold == g["cookies"] for gold, _ in links)  # p = 1.0: k = 0
    queued = {row["pair_id"] for row in queue}
    assert not queued & (set(g.values()) | {other["silver"], other["queued"]})
    assert other["untrusted"] in queued  # an untrusted judge's vote does not make a pair silver
    assert other["discarded"] in queued  # a discard is not a human label: still unverified
    assert all(row["route"] == "judge" for row in queue)


def test_a_candidate_found_by_two_anchors_lists_both_best_first(scored):
    lake, g, other = scored
    retrieve(lake, RetrieveConfig(round=1))
    row = next(r for r in _queue(lake) if r["pair_id"] == other["discarded"])  # "Which city is the capital of France?"
    anchors = row["anchors"]
    assert anchors[0]["gold_pair_id"] == g["france"] and anchors[0]["rank"] == 1
    assert [a["similarity"] for a in anchors] == sorted((a["similarity"] for a in anchors), reverse=True)
    assert row["best_similarity"] == pytest.approx(anchors[0]["similarity"])


def test_two_runs_give_the_same_queue_and_replace_the_round(scored):
    lake, _g, _ = scored

    def snapshot():
        return [{k: v for k, v in r.items() if k != "queued_at"} for r in _queue(lake)]

    retrieve(lake, RetrieveConfig(round=1))
    first = snapshot()
    retrieve(lake, RetrieveConfig(round=1))
    assert snapshot() == first and sum(len(r["anchors"]) for r in first) == 10
    assert lake.dataset("retrieval_queue").count_rows() == len(first) + 1  # round 0's row kept


def test_gold_probs_csv_and_routing_objective_first(scored, tmp_path):
    lake, g, _ = scored
    csv = tmp_path / "p.csv"
    csv.write_text(f"pair_id,p\n{g['cookies']},0.2\n")
    report = retrieve(lake, RetrieveConfig(round=2, gold_probs=csv, human_share=0.25))
    assert (report.source, report.n_anchors, report.n_candidates, report.n_human) == (f"csv:{csv}", 1, 8, 2)
    by_similarity = [r["pair_id"] for r in _queue(lake, 2)]
    assert [r["route"] for r in _queue(lake, 2)] == ["human"] * 2 + ["judge"] * 6
    # Make the three least similar candidates objective and low-controversy: they now go first.
    rows = lake.dataset("pairs").to_table(columns=["pair_id"]).column("pair_id").to_pylist()
    easy = by_similarity[-3:]
    later = [attribute(p, "general", "objective", "low") | {"annotated_at": NOW + timedelta(hours=1)} for p in easy]
    put(lake, "attributes", [attribute(p, "general", "subjective", "high") for p in rows] + later)
    retrieve(lake, RetrieveConfig(round=2, gold_probs=csv, human_share=0.25))
    queue = _queue(lake, 2)
    assert [r["pair_id"] for r in queue[:3]] == easy
    assert [r["pair_id"] for r in queue if r["route"] == "human"] == easy[:2]


def test_same_category_filter(scored):
    lake, g, _ = scored
    rows = lake.dataset("pairs").to_table(columns=["pair_id"]).column("pair_id").to_pylist()
    coding = set(sorted(rows)[::3]) | {g["reverse"]}
    put(lake, "attributes", [attribute(p, "coding" if p in coding else "chat") for p in rows])
    embed_pairs(lake, EmbedConfig(progress=False))  # attributes changed the (x, a) texts
    retrieve(lake, RetrieveConfig(round=1, same_category=True))
    for row in _queue(lake):
        for anchor in row["anchors"]:
            assert (anchor["gold_pair_id"] in coding) == (row["pair_id"] in coding)


def test_errors_say_what_to_do(lake, tmp_path):
    with pytest.raises(LakeError, match="no reward model run with role best or silver"):
        retrieve(lake, RetrieveConfig(round=1))
    bad = tmp_path / "bad.csv"
    bad.write_text("abc,1.5\n")
    with pytest.raises(ValueError, match=r"bad.csv:1: p=1.5 is not a probability"):
        retrieve(lake, RetrieveConfig(round=1, gold_probs=bad))
    with pytest.raises(ValueError, match="human-share"):
        retrieve(lake, RetrieveConfig(round=1, human_share=2.0))
