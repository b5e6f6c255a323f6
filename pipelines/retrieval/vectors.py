"""Vector tables in the lake: incremental writes, the ANN index, and k-nearest search.

A vector table (``embeddings`` keyed by ``pair_id``, ``prompt_embeddings`` keyed by
``prompt_id``) is a LanceDB table at the lake root. :func:`sync_vectors` brings it up to
date with a stream of ``(key, text, text_hash)``: only keys whose hash or model changed
are embedded, in length-sorted batches, and the write is one lake transaction.
:class:`VectorIndex` answers k-nearest queries on the committed version: brute force
below ``ann_min_rows`` rows (exact, and fast enough there), the cosine ANN index above.
Every result is ordered by similarity, ties broken by key, so runs are deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import lance
import numpy as np
import polars as pl
import pyarrow as pa

from lake import Lake
from lake.reports import Counted
from lake.sql import sql_in, sql_string
from pipelines.retrieval.config import IndexSettings
from pipelines.retrieval.encoder import Encoder
from pipelines.retrieval.keyindex import KeyIndex

TextStream = Callable[[], Iterator[pa.Table]]  # yields tables of (key, text, text_hash)


@dataclass
class SyncReport(Counted):
    table: str
    n_rows: int = 0  # keys in the stream
    n_embedded: int = 0  # texts the model encoded
    n_reused: int = 0  # vectors copied from a donor table with the same text hash and model
    version: int | None = None
    index: str = "none"  # none | built | refreshed | kept
    extra: dict[str, int] = field(default_factory=dict)


def vector_schema(key: str, dim: int) -> pa.Schema:
    from lake.schemas import embeddings_schema

    schema = embeddings_schema(dim)
    return schema if key == "pair_id" else schema.set(0, pa.field(key, pa.string(), nullable=False))


DELETE_CHUNK = 10_000  # keys per delete predicate


@dataclass
class StoredVectors:
    """What a vector table holds for one model, and the write rule both engines follow.

    ``keys``: the (key, text_hash) of the model's stored vectors; ``replace``: the table holds another
    model's vectors (their width may differ) or does not exist, so the write replaces it. Otherwise a
    key already stored had its text changed: its old row is deleted and the new one appended, in the
    write's one commit (:meth:`drop_changed`); a first embedding of a large pool costs appends only.
    """

    table: str
    key: str
    keys: pl.DataFrame
    replace: bool

    @classmethod
    def read(cls, lake: Lake, table: str, key: str, model: str) -> StoredVectors:
        keys = pl.DataFrame(schema={key: pl.String, "text_hash": pl.String})
        if not lake.exists(table):
            return cls(table, key, keys, True)
        ds = lake.dataset(table)
        models = set(pl.from_arrow(ds.to_table(columns=["model"])).get_column("model").unique().to_list())
        if ds.count_rows():
            reader = ds.scanner(columns=[key, "text_hash"], filter=f"model = {sql_string(model)}").to_reader()
            keys = pl.from_arrow(reader.read_all())  # type: ignore[assignment]
        return cls(table, key, keys, bool(models - {model}))

    def index(self) -> KeyIndex:
        """:attr:`keys` indexed by key: which of a batch's (key, text_hash) are stored, batch after batch."""
        return KeyIndex(self.keys, self.key)

    def drop_changed(self, txn: Any, new_keys: pl.Series) -> int:
        """Delete, in ``txn``, the stored rows of ``new_keys`` (their text changed); the rows deleted."""
        if self.replace or self.keys.is_empty():
            return 0
        changed = new_keys.filter(new_keys.is_in(self.keys.get_column(self.key))).to_list()
        for start in range(0, len(changed), DELETE_CHUNK):
            txn.delete(self.table, sql_in(self.key, changed[start : start + DELETE_CHUNK]))
        return len(changed)


def _donor_vectors(lake: Lake, donor: str | None, model: str, hashes: pl.Series) -> pl.DataFrame | None:
    if donor is None or not lake.exists(donor):
        return None
    wanted = pl.DataFrame({"text_hash": hashes.unique()})
    found = []
    for batch in lake.dataset(donor).to_batches(columns=["text_hash", "vector"], filter=f"model = {sql_string(model)}"):
        found.append(pl.from_arrow(batch).join(wanted, on="text_hash", how="semi"))  # type: ignore[arg-type]
    return pl.concat(found).unique("text_hash", keep="first") if found else None


def _encode_chunk(chunk: pl.DataFrame, key: str, encoder: Encoder, batch_size: int, bar, donor: pl.DataFrame | None):
    # Length-sorted so that each batch pads to similar lengths (the stage's main speed-up).
    chunk = chunk.with_columns(pl.col("text").str.len_chars().alias("_len")).sort(["_len", key])
    vectors = np.zeros((chunk.height, 0), dtype=np.float32)
    reuse = np.zeros(chunk.height, dtype=bool)
    if donor is not None:
        joined = chunk.select("text_hash").join(donor, on="text_hash", how="left", maintain_order="left")
        reuse = joined.get_column("vector").is_not_null().to_numpy()
    todo = [t for t, r in zip(chunk.get_column("text").to_list(), reuse, strict=True) if not r]
    parts = []
    for start in range(0, len(todo), batch_size * 4):
        part = todo[start : start + batch_size * 4]
        parts.append(encoder.encode(part, batch_size=batch_size))
        bar.update(len(part))
    encoded = np.concatenate(parts) if parts else None
    dim = encoded.shape[1] if encoded is not None else None
    if reuse.any():
        donated = np.stack(joined.filter(pl.col("vector").is_not_null()).get_column("vector").to_numpy())
        dim = donated.shape[1]
        vectors = np.zeros((chunk.height, dim), dtype=np.float32)
        vectors[reuse] = donated
        if encoded is not None:
            vectors[~reuse] = encoded
        bar.update(int(reuse.sum()))
    else:
        vectors = encoded
    table = pa.table(
        {
            key: chunk.get_column(key).to_arrow(),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), dim),
            "model": pa.array([encoder.model_name] * chunk.height, pa.string()),
            "text_hash": chunk.get_column("text_hash").to_arrow(),
            "embedded_at": pa.array([datetime.now(UTC)] * chunk.height, pa.timestamp("us", tz="UTC")),
        }
    )
    return table.cast(vector_schema(key, dim)), len(todo), int(reuse.sum())


def sync_vectors(
    lake: Lake,
    table: str,
    key: str,
    stream: TextStream,
    encoder: Encoder,
    *,
    settings: IndexSettings,
    chunk_rows: int = 8192,
    batch_size: int = 64,
    donor: str | None = None,
    progress: bool = True,
) -> SyncReport:
    """Embed the keys of ``stream`` that are new or changed; write them to ``table`` in one commit."""
    from tqdm import tqdm

    report = SyncReport(table=table)
    stored = StoredVectors.read(lake, table, key, encoder.model_name)
    stored_index = stored.index()
    todo_parts = []
    for part in stream():  # pass 1: hashes only, to know the work (and the ETA) up front
        frame = pl.from_arrow(part.select([key, "text_hash"]))
        report.n_rows += frame.height
        todo_parts.append(stored_index.anti(frame, [key, "text_hash"]))  # type: ignore[arg-type]
    todo = pl.concat(todo_parts) if todo_parts else pl.DataFrame(schema={key: pl.String, "text_hash": pl.String})
    if todo.is_empty():
        report.index = "kept"
        return report  # nothing changed: no model, no write
    donated = _donor_vectors(lake, donor, encoder.model_name, todo.get_column("text_hash"))
    todo_index = KeyIndex(todo, key)

    def chunks() -> Iterator[pa.Table]:
        with tqdm(total=todo.height, desc=f"embed {table}", unit="text", disable=not progress) as bar:
            buffer: list[pl.DataFrame] = []
            for part in stream():  # pass 2: the texts of the keys to embed
                frame = pl.from_arrow(part.select([key, "text", "text_hash"]))
                buffer.append(todo_index.semi(frame, [key, "text_hash"]))  # type: ignore[arg-type]
                if sum(b.height for b in buffer) >= chunk_rows:
                    yield _encoded(pl.concat(buffer), key, encoder, batch_size, bar, donated, report)
                    buffer = []
            if buffer and sum(b.height for b in buffer):
                yield _encoded(pl.concat(buffer), key, encoder, batch_size, bar, donated, report)

    message = f"embed {table}: {todo.height} texts with {encoder.model_name}"
    return store_vectors(lake, chunks(), stored, settings, report, message)


def _encoded(chunk, key, encoder, batch_size, bar, donated, report) -> pa.Table:
    data, n_encoded, n_reused = _encode_chunk(chunk, key, encoder, batch_size, bar, donated)
    report.n_embedded += n_encoded
    report.n_reused += n_reused
    return data


def store_vectors(
    lake: Lake,
    chunks: Iterable[pa.Table],
    stored: StoredVectors,
    settings: IndexSettings,
    report: SyncReport,
    message: str,
) -> SyncReport:
    """Write chunks of ``(key, vector, model, text_hash, embedded_at)`` rows in one lake commit, under
    ``stored``'s rule (the table replaced, or changed keys' rows deleted and every row appended); the
    ANN index is built or refreshed at the end, in the same commit."""
    import lancedb

    overwrite = stored.replace
    with lake.transaction(message) as txn:
        txn.track(stored.table)
        db = lancedb.connect(str(lake.root))
        for data in chunks:
            if overwrite:
                db.create_table(stored.table, data=data, schema=data.schema, mode="overwrite")
                overwrite = False
                continue
            stored.drop_changed(txn, pl.from_arrow(data.select([stored.key])).get_column(stored.key))
            db.open_table(stored.table).add(data)
        report.index = ensure_index(lake, stored.table, settings)
        report.version = txn.record(stored.table)
    return report


def ensure_index(lake: Lake, table: str, settings: IndexSettings) -> str:
    """Build the cosine ANN index once the table is large enough; fold new rows into it after."""
    import lancedb

    ds = lance.dataset(str(lake.path(table)))
    n = ds.count_rows()
    indices = [i for i in ds.describe_indices() if "vector" in getattr(i, "field_names", [])]
    if n < settings.ann_min_rows:
        return "kept" if indices else "none"
    dim = ds.schema.field("vector").type.list_size
    stale = not indices
    if indices:
        unindexed = ds.stats.index_stats(indices[0].name).get("num_unindexed_rows", 0)
        stale = unindexed > 0.2 * n  # a large tail would be searched flat: retrain the partitions
        if not stale and unindexed:
            ds.optimize.optimize_indices()
            return "refreshed"
        if not stale:
            return "kept"
    lancedb.connect(str(lake.root)).open_table(table).create_index(
        metric="cosine",
        vector_column_name="vector",
        index_type=settings.index_type,
        num_partitions=max(8, round(math.sqrt(n))),  # ~sqrt(n) lists: short scans at a modest nprobes
        num_sub_vectors=dim // 8 if dim % 8 == 0 else dim // 4,
        replace=True,
    )
    return "built"
