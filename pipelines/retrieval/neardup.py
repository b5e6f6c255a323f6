"""Near-duplicate prompts: leader clustering on conversation embeddings -> ``neighbours``.

Clusters are built on the *prompt* alone (the conversation, no attributes): two pairs
that ask the same thing in other words are near-duplicates whatever their attributes.
Prompt vectors live in their own table, ``prompt_embeddings`` keyed by ``prompt_id``
(one per distinct prompt); when a pair has no attributes its ``(x, a)`` text equals its
prompt text, so the vector is copied from ``embeddings`` by text hash, not re-embedded.

Leader clustering, not connected components: prompts are visited in the order of their
smallest pair_id; an unassigned prompt becomes a leader and takes every unassigned prompt
within the threshold of *itself*. No chains (A~B~C with A, C far apart), every member is
within the threshold of its representative, and the result is deterministic. The
representative pair is the leader prompt's smallest pair_id. Every pair gets a row;
a pair alone in its cluster is its own representative with similarity 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
import pyarrow as pa

from lake import Lake, LakeError
from lake.reports import Counted
from lake.schemas import NEIGHBOURS
from lake.snapshot import Snapshot, open_snapshot
from pipelines.retrieval.config import NeardupConfig
from pipelines.retrieval.embed import EMBEDDINGS
from pipelines.retrieval.encoder import Encoder
from pipelines.retrieval.search import VectorIndex
from pipelines.retrieval.text import conversation_text, text_hash
from pipelines.retrieval.vectors import sync_vectors

PROMPT_EMBEDDINGS = "prompt_embeddings"


@dataclass
class NeardupReport(Counted):
    n_prompts: int
    n_pairs: int
    n_clusters: int  # clusters with more than one prompt
    n_clustered_prompts: int  # prompts in such clusters (leaders included)
    n_embedded: int
    n_reused: int
    version: int


def prompt_texts(pairs: Snapshot, batch_size: int = 8192) -> Iterator[pa.Table]:
    """``(prompt_id, text, text_hash)`` once per distinct prompt."""
    seen: set[str] = set()
    for batch in pairs.to_batches(columns=["prompt_id", "conversation"], batch_size=batch_size):
        ids, texts = [], []
        for pid, conv in zip(
            batch.column("prompt_id").to_pylist(), batch.column("conversation").to_pylist(), strict=True
        ):
            if pid not in seen:
                seen.add(pid)
                ids.append(pid)
                texts.append(conversation_text(conv))
        yield pa.table({"prompt_id": ids, "text": texts, "text_hash": [text_hash(t) for t in texts]})


def leader_clusters(
    order: list[str], hits: dict[str, list[tuple[str, float]]], threshold: float
) -> dict[str, tuple[str, float]]:
    """``{prompt: (leader prompt, similarity to it)}`` for prompts visited in ``order``."""
    assigned: dict[str, tuple[str, float]] = {}
    for prompt in order:
        if prompt in assigned:
            continue
        assigned[prompt] = (prompt, 1.0)
        for other, sim in hits.get(prompt, []):
            if sim >= threshold and other not in assigned:
                assigned[other] = (prompt, min(sim, 1.0))
    return assigned


def find_near_duplicates(
    lake: Lake, config: NeardupConfig | None = None, encoder: Encoder | None = None
) -> NeardupReport:
    """Embed new prompts, cluster them and replace the ``neighbours`` table."""
    config = config or NeardupConfig()
    encoder = encoder or config.encoder()
    pairs = open_snapshot(lake, "pairs")
    sync = sync_vectors(
        lake, PROMPT_EMBEDDINGS, "prompt_id", lambda: prompt_texts(pairs), encoder,
        settings=config.index_settings(), chunk_rows=config.chunk_rows, batch_size=config.batch_size,
        donor=EMBEDDINGS, progress=config.progress,
    )  # fmt: skip
    members = pl.from_arrow(pairs.dataset.to_table(columns=["pair_id", "prompt_id"]))
    first = members.group_by("prompt_id").agg(pl.col("pair_id").min().alias("first_pair_id")).sort("first_pair_id")
    order = first.get_column("prompt_id").to_list()
    if not order:
        raise LakeError(f"no pairs in the lake at {lake.root}: run `prefhouse ingest` first")
    index = VectorIndex(lake, PROMPT_EMBEDDINGS, "prompt_id", config.index_settings())
    hits: dict[str, list[tuple[str, float]]] = {}
    for start in range(0, len(order), 1024):
        block = order[start : start + 1024]
        vectors = index.vectors(block)
        present = [p for p in block if p in vectors]
        if present:
            found = index.search([vectors[p] for p in present], config.max_neighbours + 1)
            hits.update((p, [h for h in hs if h[0] != p]) for p, hs in zip(present, found, strict=True))
    clusters = leader_clusters(order, hits, config.threshold)
    assignment = pl.DataFrame(
        {"prompt_id": list(clusters), "leader": [c[0] for c in clusters.values()],
         "similarity": [c[1] for c in clusters.values()]},
        schema={"prompt_id": pl.String, "leader": pl.String, "similarity": pl.Float32},
    )  # fmt: skip
    rows = (
        members.join(assignment, on="prompt_id", how="inner")
        .join(first.rename({"prompt_id": "leader", "first_pair_id": "cluster_id"}), on="leader")
        .with_columns(is_representative=pl.col("pair_id") == pl.col("cluster_id"))
        .sort("pair_id")
    )
    now = datetime.now(UTC)
    table = pa.table(
        {
            "pair_id": rows.get_column("pair_id").to_arrow(),
            "cluster_id": rows.get_column("cluster_id").to_arrow(),
            "is_representative": rows.get_column("is_representative").to_arrow(),
            "similarity": rows.get_column("similarity").to_arrow(),
            "threshold": pa.array([config.threshold] * rows.height, pa.float32()),
            "model": pa.array([encoder.model_name] * rows.height, pa.string()),
            "computed_at": pa.array([now] * rows.height, pa.timestamp("us", tz="UTC")),
        }
    ).cast(NEIGHBOURS)
    with lake.transaction(f"neighbours: {config.threshold} cosine on prompts") as txn:
        version = txn.overwrite("neighbours", table)
    multi = assignment.group_by("leader").len().filter(pl.col("len") > 1)
    return NeardupReport(
        n_prompts=len(order), n_pairs=rows.height, n_clusters=multi.height,
        n_clustered_prompts=int(multi.get_column("len").sum() or 0), n_embedded=sync.n_embedded,
        n_reused=sync.n_reused, version=version,
    )  # fmt: skip
