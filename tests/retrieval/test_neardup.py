"""Near-duplicate prompts: planted paraphrases are clustered, unrelated prompts are not."""

from __future__ import annotations

from lake.records import pair_row, pairs_table
from pipelines.retrieval import EmbedConfig, NeardupConfig, embed_pairs, find_near_duplicates
from pipelines.retrieval.neardup import leader_clusters
from tests.retrieval.conftest import PARAPHRASES, UNRELATED

QUIET = NeardupConfig(progress=False)


def _clusters(lake) -> dict[str, str]:
    return {r["pair_id"]: r["cluster_id"] for r in lake.dataset("neighbours").to_table().to_pylist()}


def test_paraphrases_share_a_cluster_and_unrelated_prompts_stay_alone(small_lake, encoder):
    lake, rows = small_lake
    report = find_near_duplicates(lake, QUIET, encoder)
    cluster = _clusters(lake)
    assert len(cluster) == len(rows)  # every pair gets a row
    by_text = {r["conversation"][0]["content"]: r["pair_id"] for r in rows}
    for group in PARAPHRASES:
        ids = [by_text[t] for t in group]
        assert len({cluster[i] for i in ids}) == 1, group
        assert cluster[ids[0]] == min(ids)  # representative: the smallest pair_id
    for text in UNRELATED:  # "capital of Germany" stays apart from "capital of France"
        assert cluster[by_text[text]] == by_text[text], text
    assert (report.n_clusters, report.n_clustered_prompts) == (len(PARAPHRASES), 7)
    table = lake.dataset("neighbours").to_table().to_pylist()
    reps = [r for r in table if r["is_representative"]]
    assert len(reps) == len(rows) - 7 + len(PARAPHRASES)
    assert all(r["similarity"] >= QUIET.threshold - 1e-6 for r in table)


def test_pairs_of_one_prompt_share_its_cluster_and_vectors_are_reused(lake, encoder):
    text = "What is the boiling point of water at sea level?"
    rows = [pair_row(text, "100 degrees Celsius.", "50 degrees."), pair_row(text, "100 C", "It depends on the pot.")]
    rows.append(pair_row("Name three primary colours.", "Red, yellow, blue.", "Green."))
    lake.append("pairs", pairs_table(rows))
    embed_pairs(lake, EmbedConfig(progress=False), encoder)
    start = encoder.n_encoded
    report = find_near_duplicates(lake, QUIET, encoder)
    # No attributes: each prompt's text equals its pairs' (x, a) text, so no new model work.
    assert (report.n_prompts, report.n_reused, report.n_embedded, encoder.n_encoded) == (2, 2, 0, start)
    cluster = _clusters(lake)
    assert cluster[rows[0]["pair_id"]] == cluster[rows[1]["pair_id"]] == min(rows[0]["pair_id"], rows[1]["pair_id"])


def test_leader_clustering_does_not_chain():
    hits = {"a": [("b", 0.95)], "b": [("a", 0.95), ("c", 0.95)], "c": [("b", 0.95)]}
    # a~b and b~c, but c is not within the threshold of the leader a: c leads its own cluster.
    assert leader_clusters(["a", "b", "c"], hits, 0.9) == {"a": ("a", 1.0), "b": ("a", 0.95), "c": ("c", 1.0)}
