"""Pair embeddings as a Ray job: the encoding on actors, the local stage's write path on the driver.

Each actor loads the sentence-transformers model once and, for its batch of pairs, builds the
texts the local stage embeds (:func:`pipelines.retrieval.embed.batch_texts`), skips the pairs
whose vector is already stored for the model (same ``pair_id`` and text hash) and encodes the
rest, each distinct text once. The rows come back to the driver's spool (a memory-mapped Arrow
file) and go from there, chunk by chunk, through the local stage's write
(:func:`pipelines.retrieval.vectors.store_vectors`): new pairs appended, changed ones merged, the
ANN index built or refreshed, one lake commit. Nothing of the job's output is held in memory
whole, so the driver's memory does not grow with the pool.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pyarrow as pa

from lake import Lake
from pipelines.retrieval.embed import EMBEDDINGS, TEXT_COLUMNS, EmbedConfig, batch_texts, ok_attributes
from pipelines.retrieval.vectors import SyncReport, _stored, store_vectors, vector_schema
from pipelines.scale.cluster import EngineConfig
from pipelines.scale.job import Results, Stage, map_table

VECTORS = pa.schema([("pair_id", pa.string()), ("text_hash", pa.string()), ("vector", pa.list_(pa.float32()))])


class PairEncoder:
    """One actor's encoder: the model, loaded once; pairs in, the vectors of those not stored out."""

    def __init__(self, config: EmbedConfig, attributes: pl.DataFrame, stored: pl.DataFrame) -> None:
        self.encoder = config.encoder()
        self.batch_size = config.batch_size
        self.attributes, self.stored = attributes, stored

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = pl.from_arrow(batch_texts(batch, self.attributes))
        todo = texts.join(self.stored, on=["pair_id", "text_hash"], how="anti")  # type: ignore[arg-type]
        if todo.is_empty():  # nothing new here: the model is not even loaded
            return VECTORS.empty_table()
        distinct = todo.unique("text_hash", keep="first", maintain_order=True)
        vectors = self.encoder.encode(distinct.get_column("text").to_list(), batch_size=self.batch_size)
        by_hash = pl.DataFrame({"text_hash": distinct.get_column("text_hash"), "_row": np.arange(distinct.height)})
        rows = todo.join(by_hash, on="text_hash", how="left", maintain_order="left").get_column("_row").to_numpy()
        column = pa.array(list(np.asarray(vectors, dtype=np.float32)[rows]), pa.list_(pa.float32()))
        return pa.table(
            {"pair_id": todo.get_column("pair_id").to_arrow(), "text_hash": todo.get_column("text_hash").to_arrow(),
             "vector": column},
            schema=VECTORS,
        )  # fmt: skip


def _rows(part: pa.Table, model: str) -> pa.Table:
    """Spooled ``(pair_id, text_hash, vector)`` rows as ``embeddings`` rows."""
    dim = len(part.column("vector")[0])
    flat = pa.array(np.concatenate(part.column("vector").to_numpy(zero_copy_only=False)), pa.float32())
    now = datetime.now(UTC)
    table = pa.table(
        {"pair_id": part.column("pair_id"), "vector": pa.FixedSizeListArray.from_arrays(flat, dim),
         "model": pa.array([model] * part.num_rows, pa.string()), "text_hash": part.column("text_hash"),
         "embedded_at": pa.array([now] * part.num_rows, pa.timestamp("us", tz="UTC"))},
    )  # fmt: skip
    return table.cast(vector_schema("pair_id", dim))


def _chunks(results: Results, model: str, chunk_rows: int, report: SyncReport) -> Iterator[pa.Table]:
    """The spool read back ``chunk_rows`` rows at a time, as ``embeddings`` rows."""
    pending: list[pa.RecordBatch] = []
    for batch in itertools.chain(results.reader(), [None]):
        if batch is not None and batch.num_rows:
            pending.append(batch)
        if pending and (batch is None or sum(b.num_rows for b in pending) >= chunk_rows):
            part = pa.Table.from_batches(pending)
            pending = []
            report.n_embedded += part.num_rows
            yield _rows(part, model)


def embed_ray(lake: Lake, config: EmbedConfig | None = None, engine: EngineConfig | None = None) -> SyncReport:
    """Bring ``embeddings`` up to date with the committed pairs, the encoding done on Ray."""
    config = config or EmbedConfig()
    engine = engine or EngineConfig(engine="ray")
    report = SyncReport(table=EMBEDDINGS)
    with lake.reading_at():  # the job and the write see the same pairs and attributes
        attributes = ok_attributes(lake)
        stored = _stored(lake, EMBEDDINGS, "pair_id", config.model)
        actor_config = dataclasses.replace(config, threads=engine.threads, progress=False)
        kwargs = {"config": actor_config, "attributes": attributes, "stored": stored}
        stage = Stage(PairEncoder, kwargs, VECTORS, columns=TEXT_COLUMNS)
        with map_table(lake, "pairs", stage, engine) as results:
            report.n_rows = lake.dataset("pairs").count_rows()
            report.extra["pairs_version"] = results.read_version
            if not results.rows:
                report.index = "kept"
                return report  # nothing changed: no write
            message = f"embed {EMBEDDINGS}: {results.rows} texts with {config.model} (ray)"
            chunks = _chunks(results, config.model, config.chunk_rows, report)
            return store_vectors(lake, EMBEDDINGS, "pair_id", config.model, chunks, stored, config.index_settings(),
                                 report, message)  # fmt: skip
