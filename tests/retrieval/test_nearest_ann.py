"""The notebook API, and the ANN path (index built, refreshed, recall against exact search)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from pipelines.retrieval import EmbedConfig, IndexSettings, VectorIndex, embed_pairs
from pipelines.retrieval.nearest import nearest
from pipelines.retrieval.vectors import ensure_index, vector_schema
from tests.retrieval.conftest import attribute, put


def test_nearest_by_text_and_by_pair_with_filters(small_lake, encoder):
    lake, rows = small_lake
    embed_pairs(lake, EmbedConfig(progress=False), encoder)
    by_text = nearest(lake, "how to reverse a list in python", k=3)
    assert set(by_text.column("pair_id").to_pylist()) == {r["pair_id"] for r in rows[:3]}  # the three paraphrases
    assert by_text.column("rank").to_pylist() == [1, 2, 3]
    put(lake, "attributes", [attribute(rows[2]["pair_id"], "coding"), attribute(rows[9]["pair_id"], "coding")])
    hits = nearest(lake, rows[0]["pair_id"], k=5, filters={"task_category": "coding"})
    assert set(hits.column("pair_id").to_pylist()) == {rows[2]["pair_id"], rows[9]["pair_id"]}  # only 2 match
    assert hits.column("prompt").to_pylist()[0] == rows[2]["conversation"][0]["content"]
    with pytest.raises(ValueError, match="unknown filter"):
        nearest(lake, "x", filters={"colour": "red"})


def _write_vectors(lake, n: int, dim: int, seed: int, mode: str) -> np.ndarray:
    import lancedb

    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(16, dim))
    vectors = centres[rng.integers(0, 16, n)] + 0.3 * rng.normal(size=(n, dim))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    table = pa.table(
        {
            "pair_id": [f"{seed:02d}{i:06d}" for i in range(n)],
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim),
            "model": ["synthetic"] * n,
            "text_hash": ["-"] * n,
            "embedded_at": [datetime.now(UTC)] * n,
        }
    ).cast(vector_schema("pair_id", dim))
    with lake.transaction("synthetic vectors") as txn:
        txn.track("embeddings")
        db = lancedb.connect(str(lake.root))
        if mode == "create":
            db.create_table("embeddings", data=table)
        else:
            db.open_table("embeddings").add(table)
        txn.record("embeddings")
    return vectors


def test_ann_index_is_built_refreshed_and_recalls_exact_neighbours(lake):
    settings = IndexSettings(ann_min_rows=2000, nprobes=16, refine_factor=20)
    vectors = _write_vectors(lake, 2000, 32, seed=1, mode="create")
    with lake.transaction("index") as txn:
        txn.track("embeddings")
        assert ensure_index(lake, "embeddings", settings) == "built"
        txn.record("embeddings")
    _write_vectors(lake, 100, 32, seed=2, mode="append")  # a small tail: folded into the index
    with lake.transaction("index") as txn:
        txn.track("embeddings")
        assert ensure_index(lake, "embeddings", settings) == "refreshed"
        txn.record("embeddings")
    ann = VectorIndex(lake, "embeddings", "pair_id", settings)
    exact = VectorIndex(lake, "embeddings", "pair_id", IndexSettings(ann_min_rows=10**9))
    assert ann.use_ann and not exact.use_ann
    queries = vectors[:50]
    found = [{h[0] for h in hs} for hs in ann.search(queries, 8)]
    truth = [{h[0] for h in hs} for hs in exact.search(queries, 8)]
    recall = np.mean([len(f & t) / 8 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.95
