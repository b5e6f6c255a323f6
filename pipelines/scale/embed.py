"""Pair embeddings as a Ray job: the encoding on actors, the local stage's write path on the driver.

Each actor loads the sentence-transformers model once and, for its batch of pairs, builds the
texts the local stage embeds (:func:`pipelines.retrieval.embed.batch_texts`), skips those whose
vector is already stored for the model (same ``pair_id`` and text hash), and encodes the rest.
The vectors come back to the driver keyed by text hash; the driver then runs the local stage
itself (:func:`embed_pairs`) with a :class:`VectorLookup` in place of the model, so what lands,
how (create or merge_insert, the ANN index) and in how many commits (one) is the local stage's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import polars as pl
import pyarrow as pa

from lake import Lake
from pipelines.retrieval.embed import EMBEDDINGS, TEXT_COLUMNS, EmbedConfig, batch_texts, embed_pairs, ok_attributes
from pipelines.retrieval.text import text_hash
from pipelines.retrieval.vectors import SyncReport, _stored
from pipelines.scale.cluster import EngineConfig
from pipelines.scale.job import Stage, map_table

VECTORS = pa.schema([("text_hash", pa.string()), ("vector", pa.list_(pa.float32()))])


class PairEncoder:
    """One actor's encoder: the model, loaded once; pairs in, the vectors of their new texts out."""

    def __init__(self, config: EmbedConfig, attributes: pl.DataFrame, stored: pl.DataFrame) -> None:
        self.encoder = config.encoder()
        self.batch_size = config.batch_size
        self.attributes, self.stored = attributes, stored

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = pl.from_arrow(batch_texts(batch, self.attributes))
        todo = texts.join(self.stored, on=["pair_id", "text_hash"], how="anti").unique("text_hash")  # type: ignore[arg-type]
        if todo.is_empty():  # nothing new here: the model is not even loaded
            return VECTORS.empty_table()
        vectors = self.encoder.encode(todo.get_column("text").to_list(), batch_size=self.batch_size)
        column = pa.array(list(vectors), pa.list_(pa.float32()))
        return pa.table({"text_hash": todo.get_column("text_hash").to_arrow(), "vector": column}, schema=VECTORS)


class VectorLookup:
    """Stands in for the encoder in :func:`embed_pairs`: the vectors the Ray job computed, by text hash."""

    def __init__(self, model_name: str, vectors: pa.Table) -> None:
        self.model_name = model_name
        self.vectors = dict(zip(vectors["text_hash"].to_pylist(), vectors["vector"].to_pylist(), strict=True))
        self.n_encoded = 0

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        try:
            out = np.asarray([self.vectors[text_hash(t)] for t in texts], dtype=np.float32)
        except KeyError as exc:
            raise RuntimeError(f"the Ray job embedded no text with hash {exc}: rerun `prefhouse embed`") from exc
        self.n_encoded += len(texts)
        return out


def embed_ray(lake: Lake, config: EmbedConfig | None = None, engine: EngineConfig | None = None) -> SyncReport:
    """Bring ``embeddings`` up to date with the committed pairs, the encoding done on Ray."""
    config = config or EmbedConfig()
    engine = engine or EngineConfig(engine="ray")
    with lake.reading_at():  # the job and the write see the same pairs and attributes
        attributes = ok_attributes(lake)
        stored = _stored(lake, EMBEDDINGS, "pair_id", config.model)
        actor_config = dataclasses.replace(config, threads=engine.threads, progress=False)
        kwargs = {"config": actor_config, "attributes": attributes, "stored": stored}
        stage = Stage(PairEncoder, kwargs, VECTORS, columns=TEXT_COLUMNS)
        with map_table(lake, "pairs", stage, engine) as results:
            lookup = VectorLookup(config.model, results.read_all())
        return embed_pairs(lake, config, encoder=lookup)  # type: ignore[arg-type]
