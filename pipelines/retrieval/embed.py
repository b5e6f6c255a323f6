"""The embedding stage: one ``(x, a)`` vector per pair in the ``embeddings`` table.

Streams the committed ``pairs`` snapshot (never the whole table in Python), joins the
pair's preference attributes where the ``attributes`` table has them with status ok,
serialises (:mod:`pipelines.retrieval.text`) and embeds what is new or changed. A re-run
over an unchanged lake loads no model and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl
import pyarrow as pa

from lake import Lake
from lake.snapshot import Snapshot, open_snapshot
from pipelines.retrieval.config import EmbedConfig
from pipelines.retrieval.encoder import Encoder
from pipelines.retrieval.keyindex import KeyIndex
from pipelines.retrieval.text import ATTRIBUTE_FIELDS, pair_text, text_hash
from pipelines.retrieval.vectors import SyncReport, sync_vectors

EMBEDDINGS = "embeddings"
TEXT_COLUMNS = ["pair_id", "conversation"]  # what a pair's embedded text is made of


def ok_attributes(lake: Lake) -> pl.DataFrame:
    """The latest ``status = 'ok'`` attributes of each pair (pair_id plus the embedded fields)."""
    columns = ["pair_id", *ATTRIBUTE_FIELDS, "annotated_at"]
    table = open_snapshot(lake, "attributes").dataset.to_table(columns=columns, filter="status = 'ok'")
    frame = pl.from_arrow(table)
    return frame.sort(["pair_id", "annotated_at"]).unique("pair_id", keep="last").drop("annotated_at")  # type: ignore[union-attr]


def attribute_index(lake: Lake) -> KeyIndex:
    """:func:`ok_attributes` indexed by pair, for the batches of :func:`batch_texts` to look up."""
    return KeyIndex(ok_attributes(lake), "pair_id")


def pair_texts(pairs: Snapshot, attributes: KeyIndex, batch_size: int = 8192) -> Iterator[pa.Table]:
    """``(pair_id, text, text_hash)`` for every pair of the snapshot, batch by batch."""
    for batch in pairs.to_batches(columns=TEXT_COLUMNS, batch_size=batch_size):
        yield batch_texts(batch, attributes)


def batch_texts(batch: pa.RecordBatch | pa.Table, attributes: KeyIndex) -> pa.Table:
    """``(pair_id, text, text_hash)`` for a batch of ``(pair_id, conversation)`` rows."""
    frame = pl.from_arrow(batch)
    found = attributes.lookup(frame.get_column("pair_id"), ATTRIBUTE_FIELDS)  # type: ignore[union-attr]
    rows = pl.concat([frame, found], how="horizontal")  # type: ignore[list-item]
    texts = [pair_text(row["conversation"], row) for row in rows.iter_rows(named=True)]
    return pa.table(
        {
            "pair_id": batch.column("pair_id"),
            "text": pa.array(texts, pa.string()),
            "text_hash": pa.array([text_hash(t) for t in texts], pa.string()),
        }
    )


def embed_pairs(lake: Lake, config: EmbedConfig | None = None, encoder: Encoder | None = None) -> SyncReport:
    """Bring ``embeddings`` up to date with the committed pairs and attributes."""
    config = config or EmbedConfig()
    encoder = encoder or config.encoder()
    pairs = open_snapshot(lake, "pairs")
    attributes = attribute_index(lake)
    report = sync_vectors(
        lake,
        EMBEDDINGS,
        "pair_id",
        lambda: pair_texts(pairs, attributes),
        encoder,
        settings=config.index_settings(),
        chunk_rows=config.chunk_rows,
        batch_size=config.batch_size,
        progress=config.progress,
    )
    report.extra["pairs_version"] = pairs.version
    return report
