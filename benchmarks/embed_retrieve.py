"""Embedding and retrieval benchmark (issue 4), in one run, printed as a table.

1. **Embedding throughput**: ``prefhouse embed`` (the stage: stream pairs, serialise, hash,
   length-sort, encode, write to Lance) against a bare ``SentenceTransformer.encode`` of the
   very same texts, with one already-loaded model for both. Target: stage >= 0.9x bare.
   Texts are real: hh-rlhf test prompts shipped in ``data/`` (ingested with ``pipelines.ingest``).
2. **ANN on --vectors vectors** (default 200k x 384): *real MiniLM vectors of the ingested
   prompts, perturbed*: each synthetic vector is a real one plus Gaussian noise (sigma chosen
   so a vector's nearest real neighbours stay near), renormalised. So the clusters are those of
   real prompts, not a uniform cloud. Recall@8 of the cosine IVF_PQ index (with refine) against
   exact numpy search, p50/p95 latency of single queries. Targets: recall >= 0.95, p50 < 10 ms.
3. **Retrieval end to end** for --gold gold pairs (default 5k) over the same vector table:
   ``retrieve()`` with a gold-probs CSV (random p), including the queue write.

Quick run: ``.venv/bin/python benchmarks/embed_retrieve.py --texts 500 --vectors 20000 --gold 500``.
Full run: ``.venv/bin/python benchmarks/embed_retrieve.py`` (defaults: 2000 texts, 200k vectors, 5k gold).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from lake.offline import use_offline_env  # noqa: E402

use_offline_env()

from lake import Lake  # noqa: E402
from pipelines.retrieval import EmbedConfig, Encoder, IndexSettings, RetrieveConfig, VectorIndex, embed_pairs  # noqa: E402
from pipelines.retrieval.embed import attribute_index, pair_texts  # noqa: E402
from pipelines.retrieval.retrieve import retrieve  # noqa: E402
from pipelines.retrieval.vectors import ensure_index, vector_schema  # noqa: E402


def embed_throughput(root: Path, n_texts: int, encoder: Encoder, batch_size: int) -> tuple[list[tuple], np.ndarray]:
    from lake.snapshot import open_snapshot
    from pipelines.ingest import ingest_paths

    lake = Lake(root / "embed")
    files = sorted((REPO / "data" / "hh-rlhf").glob("*/test.jsonl.gz"))
    ingest_paths(lake, [str(f) for f in files])
    pairs = open_snapshot(lake, "pairs")
    keep = pairs.dataset.to_table(columns=["pair_id"], limit=n_texts).column("pair_id")
    with lake.transaction("benchmark subset") as txn:  # the first n pairs only
        txn.delete("pairs", f"pair_id NOT IN ({','.join(repr(p) for p in keep.to_pylist())})")
    pairs = open_snapshot(lake, "pairs")
    texts = [t for part in pair_texts(pairs, attribute_index(lake)) for t in part.column("text").to_pylist()]
    encoder.encode(texts[:64], batch_size)  # warm-up: both sides run on a loaded, warmed model
    start = time.perf_counter()
    bare = encoder.st.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    t_bare = time.perf_counter() - start
    start = time.perf_counter()
    report = embed_pairs(lake, EmbedConfig(batch_size=batch_size, progress=False), encoder)
    t_stage = time.perf_counter() - start
    n = len(texts)
    rows = [
        ("embed: bare SentenceTransformer.encode", f"{n / t_bare:.0f} texts/s", f"{n} texts, {t_bare:.1f} s"),
        ("embed: prefhouse embed stage", f"{report.n_embedded / t_stage:.0f} texts/s", f"{t_stage:.1f} s"),
        ("embed: stage / bare", f"{t_bare / t_stage:.2f}x", "target >= 0.9x"),
    ]
    return rows, np.asarray(bare, dtype=np.float32)


def perturbed(base: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picks = base[rng.integers(0, len(base), n)]
    noise = rng.normal(scale=0.6 / np.sqrt(base.shape[1]), size=picks.shape)  # |noise| ~ 0.6: cos ~ 0.85 to its seed
    out = picks + noise
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def write_vectors(lake: Lake, vectors: np.ndarray) -> None:
    import lancedb

    n, dim = vectors.shape
    now = datetime.now(UTC)
    with lake.transaction("benchmark vectors") as txn:
        txn.track("embeddings")
        db = lancedb.connect(str(lake.root))
        for start in range(0, n, 50_000):
            part = vectors[start : start + 50_000]
            table = pa.table(
                {
                    "pair_id": [f"p{i:08d}" for i in range(start, start + len(part))],
                    "vector": pa.FixedSizeListArray.from_arrays(pa.array(part.ravel()), dim),
                    "model": ["all-MiniLM-L6-v2"] * len(part),
                    "text_hash": ["-"] * len(part),
                    "embedded_at": [now] * len(part),
                }
            ).cast(vector_schema("pair_id", dim))
            if start == 0:
                db.create_table("embeddings", data=table, mode="overwrite")
            else:
                db.open_table("embeddings").add(table)
        txn.record("embeddings")


def build_index(lake: Lake, settings: IndexSettings) -> float:
    """Build the ANN index of ``embeddings`` in one lake commit; its seconds."""
    start = time.perf_counter()
    with lake.transaction("index") as txn:
        txn.track("embeddings")
        ensure_index(lake, "embeddings", settings)
        txn.record("embeddings")
    return time.perf_counter() - start


def ann_quality(root: Path, base: np.ndarray, n_vectors: int, n_queries: int, settings: IndexSettings):
    lake = Lake(root / "ann")
    vectors = perturbed(base, n_vectors)
    write_vectors(lake, vectors)
    t_build = build_index(lake, settings)
    queries = perturbed(base, n_queries, seed=1)
    ann = VectorIndex(lake, "embeddings", "pair_id", settings)
    latencies, found = [], []
    for q in queries:
        t0 = time.perf_counter()
        found.append({h[0] for h in ann.search(q, 8)[0]})
        latencies.append(time.perf_counter() - t0)
    sims = queries @ vectors.T  # exact search, numpy
    truth = [{f"p{i:08d}" for i in np.argsort(-row)[:8]} for row in sims]
    recall = float(np.mean([len(f & t) / 8 for f, t in zip(found, truth, strict=True)]))
    p50, p95 = np.percentile(latencies, [50, 95]) * 1000
    rows = [
        (f"ANN: {settings.index_type} build, {n_vectors} x {vectors.shape[1]}", f"{t_build:.1f} s", ""),
        ("ANN: recall@8 vs exact", f"{recall:.3f}", f"{n_queries} queries; target >= 0.95"),
        ("ANN: query latency p50 / p95", f"{p50:.1f} / {p95:.1f} ms", "target p50 < 10 ms"),
    ]
    return rows, lake


def retrieval_end_to_end(lake: Lake, n_gold: int, settings: IndexSettings, root: Path):
    rng = np.random.default_rng(2)
    n = lake.dataset("embeddings").count_rows()
    gold = rng.choice(n, size=n_gold, replace=False)
    csv = root / "gold.csv"
    csv.write_text("".join(f"p{i:08d},{p:.4f}\n" for i, p in zip(gold, rng.uniform(0, 1, n_gold), strict=True)))
    config = RetrieveConfig(round=1, gold_probs=csv, ann_min_rows=settings.ann_min_rows, nprobes=settings.nprobes)
    start = time.perf_counter()
    report = retrieve(lake, config)
    elapsed = time.perf_counter() - start
    return [
        (f"retrieve: {n_gold} gold pairs end to end", f"{elapsed:.1f} s", f"{n_gold / elapsed:.0f} anchors/s"),
        (
            "retrieve: links / queued pairs",
            f"{report.n_links} / {report.n_candidates}",
            f"short anchors: {report.n_short}",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=2000, help="pairs embedded in part 1")
    parser.add_argument("--vectors", type=int, default=200_000, help="vectors in the ANN table")
    parser.add_argument("--queries", type=int, default=200, help="ANN queries for recall and latency")
    parser.add_argument("--gold", type=int, default=5000, help="gold pairs retrieved for in part 3")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--nprobes", type=int, default=24)
    parser.add_argument("--index-type", default="IVF_PQ", choices=["IVF_PQ", "IVF_HNSW_SQ"])
    args = parser.parse_args()
    encoder = Encoder(threads=args.threads)
    settings = IndexSettings(min(50_000, args.vectors), args.index_type, args.nprobes, 20)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows, base = embed_throughput(root, args.texts, encoder, args.batch_size)
        ann_rows, lake = ann_quality(root, base, args.vectors, args.queries, settings)
        rows += ann_rows + retrieval_end_to_end(lake, args.gold, settings, root)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure':<{width}}  {'value':>18}  notes")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>18}  {note}")


if __name__ == "__main__":
    main()
