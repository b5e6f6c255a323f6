"""Pair embeddings as a Ray job: the workers encode and write the vectors as Lance files; one commit.

Each actor loads the sentence-transformers model once and, for its batch of pairs, builds the
texts the local stage embeds (:func:`pipelines.retrieval.embed.batch_texts`), skips the pairs
whose vector is already stored for the model (same ``pair_id`` and text hash) and encodes the
rest, each distinct text once, into ``embeddings`` rows. Ray Data's Lance datasink writes those
rows as data files into a staging folder of the lake (:func:`pipelines.scale.job.write_table`):
the vectors never pass through the driver, whose memory and disk stay flat however large the
pool. The driver then makes one lake commit, with the local stage's rules: the rows of pairs
whose text changed are deleted and the new files moved in (appended), or, when the table holds
another model's vectors, the files replace the table; the ANN index is built or refreshed.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import lance
import numpy as np
import polars as pl
import pyarrow as pa

from lake import Lake
from pipelines.retrieval.embed import EMBEDDINGS, TEXT_COLUMNS, EmbedConfig, attribute_index, batch_texts
from pipelines.retrieval.encoder import Encoder
from pipelines.retrieval.keyindex import KeyIndex
from pipelines.retrieval.vectors import StoredVectors, SyncReport, ensure_index, vector_schema
from pipelines.scale.cluster import EngineConfig
from pipelines.scale.job import Stage, Written, write_table


class PairEncoder:
    """One actor's encoder: the model, loaded once; pairs in, ``embeddings`` rows of those not stored out."""

    def __init__(self, config: EmbedConfig, attributes: KeyIndex, stored: KeyIndex, schema: pa.Schema):
        self.encoder = config.encoder()
        self.batch_size, self.model = config.batch_size, config.model
        self.attributes, self.stored, self.schema = attributes, stored, schema
        self.dim = schema.field("vector").type.list_size

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = pl.from_arrow(batch_texts(batch, self.attributes))
        todo = self.stored.anti(texts, ["pair_id", "text_hash"])  # type: ignore[arg-type]
        if todo.is_empty():  # nothing new here: the model is not even loaded
            return self.schema.empty_table()
        distinct = todo.unique("text_hash", keep="first", maintain_order=True)
        vectors = np.asarray(
            self.encoder.encode(distinct.get_column("text").to_list(), batch_size=self.batch_size), np.float32
        )
        by_hash = pl.DataFrame({"text_hash": distinct.get_column("text_hash"), "_row": np.arange(distinct.height)})
        rows = todo.join(by_hash, on="text_hash", how="left", maintain_order="left").get_column("_row").to_numpy()
        now = datetime.now(UTC)
        return pa.table(
            {
                "pair_id": todo.get_column("pair_id").to_arrow(),
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors[rows].reshape(-1)), self.dim),
                "model": pa.array([self.model] * todo.height, pa.string()),
                "text_hash": todo.get_column("text_hash").to_arrow(),
                "embedded_at": pa.array([now] * todo.height, pa.timestamp("us", tz="UTC")),
            }
        ).cast(self.schema)


def _schema(lake: Lake, model: str, replace: bool) -> tuple[pa.Schema, str | None]:
    """The rows' schema (the vector width from the table, or from the model) and the table's Lance format."""
    if lake.exists(EMBEDDINGS) and not replace:
        ds = lake.dataset(EMBEDDINGS)
        return ds.schema, ds.data_storage_version
    return vector_schema("pair_id", Encoder(model, threads=1).dim), None  # loads the model once, for its width


def _written_keys(written: Written) -> pl.Series:
    """The pairs of the job's rows (read from its files, a column at a time)."""
    parts = [pl.from_arrow(b).get_column("pair_id") for b in lance.dataset(written.uri).to_batches(columns=["pair_id"])]
    return pl.concat(parts) if parts else pl.Series("pair_id", [], pl.String)  # type: ignore[arg-type]


def embed_ray(lake: Lake, config: EmbedConfig | None = None, engine: EngineConfig | None = None) -> SyncReport:
    """Bring ``embeddings`` up to date with the committed pairs, the encoding and the files done on Ray."""
    config = config or EmbedConfig()
    engine = engine or EngineConfig(engine="ray")
    report = SyncReport(table=EMBEDDINGS)
    with lake.reading_at():  # the job and the commit see the same pairs, attributes and vectors
        attributes = attribute_index(lake)
        stored = StoredVectors.read(lake, EMBEDDINGS, "pair_id", config.model)
        schema, storage_version = _schema(lake, config.model, stored.replace)
        actor_config = dataclasses.replace(config, threads=engine.threads, progress=False)
        kwargs = {"config": actor_config, "attributes": attributes, "stored": stored.index(), "schema": schema}
        stage = Stage(PairEncoder, kwargs, schema, columns=TEXT_COLUMNS)
        with write_table(lake, "pairs", stage, engine, storage_version=storage_version) as written:
            report.n_rows = lake.dataset("pairs").count_rows()
            report.extra["pairs_version"] = written.read_version
            report.n_embedded = written.rows
            if not written.rows:
                report.index = "kept"
                return report  # nothing changed: no write
            message = f"embed {EMBEDDINGS}: {written.rows} texts with {config.model} (ray)"
            with lake.transaction(message) as txn:
                if not stored.replace:
                    stored.drop_changed(txn, _written_keys(written))
                txn.add_dataset(EMBEDDINGS, written.uri, overwrite=stored.replace)
                report.index = ensure_index(lake, EMBEDDINGS, config.index_settings())
                report.version = txn.record(EMBEDDINGS)
    return report
