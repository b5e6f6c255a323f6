"""The embedding stage: vectors per pair, incremental re-runs, attributes in the text."""

from __future__ import annotations

import json

import numpy as np

from lake.records import pairs_table
from pipelines.retrieval import EmbedConfig, Encoder, VectorIndex, embed_pairs, pair_text, text_hash
from tests.retrieval.conftest import attribute, make_pairs, put

QUIET = EmbedConfig(progress=False)


def test_embeds_every_pair_once_with_unit_vectors(small_lake, encoder):
    lake, rows = small_lake
    report = embed_pairs(lake, QUIET, encoder)
    assert (report.n_rows, report.n_embedded, report.index) == (len(rows), len(rows), "none")
    table = lake.dataset("embeddings").to_table()
    assert sorted(table.column("pair_id").to_pylist()) == sorted(r["pair_id"] for r in rows)
    assert set(table.column("model").to_pylist()) == {"all-MiniLM-L6-v2"}
    vectors = np.stack(table.column("vector").to_numpy(zero_copy_only=False))
    assert vectors.shape == (len(rows), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # The manifest pins the version the transaction recorded, and the commit log names it.
    assert lake.pinned_version("embeddings") == report.version
    log = [json.loads(line) for line in (lake.root / "_commits.jsonl").read_text().splitlines()]
    assert log[-1]["tables"] == {"embeddings": report.version}


def test_second_run_does_no_model_work(small_lake, encoder):
    lake, _rows = small_lake
    embed_pairs(lake, QUIET, encoder)
    version = lake.pinned_version("embeddings")
    fresh = Encoder()  # a model that is never loaded proves no text reached it
    report = embed_pairs(lake, QUIET, fresh)
    assert (report.n_embedded, fresh.loaded, fresh.n_encoded) == (0, False, 0)
    assert lake.pinned_version("embeddings") == version  # and nothing was written


def test_rerun_embeds_only_new_and_changed_pairs(small_lake, encoder):
    lake, rows = small_lake
    embed_pairs(lake, QUIET, encoder)
    before = {r["pair_id"]: r["text_hash"] for r in lake.dataset("embeddings").to_table().to_pylist()}
    new = make_pairs(["How do penguins keep warm in Antarctica?"])
    lake.append("pairs", pairs_table(new))
    put(lake, "attributes", [attribute(rows[0]["pair_id"], "coding")])  # rows[0] changes its (x, a) text
    start = encoder.n_encoded
    report = embed_pairs(lake, QUIET, encoder)
    assert (report.n_embedded, encoder.n_encoded - start) == (2, 2)
    after = {r["pair_id"]: r["text_hash"] for r in lake.dataset("embeddings").to_table().to_pylist()}
    assert len(after) == len(rows) + 1
    assert after[rows[0]["pair_id"]] != before[rows[0]["pair_id"]]
    expected = pair_text(rows[0]["conversation"], attribute(rows[0]["pair_id"], "coding"))
    assert expected.startswith("[task: coding; objective; low controversy; desired: correctness]\nuser: ")
    assert after[rows[0]["pair_id"]] == text_hash(expected)
    assert all(after[k] == v for k, v in before.items() if k != rows[0]["pair_id"])


def test_failed_attributes_are_not_embedded(small_lake, encoder):
    lake, rows = small_lake
    failed = attribute(rows[1]["pair_id"], "math") | {"status": "failed"}
    put(lake, "attributes", [failed])
    embed_pairs(lake, QUIET, encoder)
    got = lake.dataset("embeddings").to_table(filter=f"pair_id = '{rows[1]['pair_id']}'").column("text_hash")[0]
    assert got.as_py() == text_hash(pair_text(rows[1]["conversation"]))


def test_exact_search_finds_the_paraphrase_first(small_lake, encoder):
    lake, rows = small_lake
    embed_pairs(lake, QUIET, encoder)
    index = VectorIndex(lake, "embeddings", "pair_id")
    query = index.vectors([rows[0]["pair_id"]])[rows[0]["pair_id"]]
    hits = index.search(query, 3)[0]
    assert hits[0] == (rows[0]["pair_id"], hits[0][1]) and hits[0][1] > 0.999
    assert {h[0] for h in hits[1:]} == {rows[1]["pair_id"], rows[2]["pair_id"]}  # the two paraphrases
