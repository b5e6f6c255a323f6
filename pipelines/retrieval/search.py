"""k-nearest search over a committed vector table: exact below a size, ANN above.

Results are ``(key, similarity)`` lists ordered by similarity descending, ties broken by
key, so two runs over the same lake give the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence

import lance
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lake import Lake, LakeError
from pipelines.retrieval.config import IndexSettings

Hits = list[tuple[str, float]]


class VectorIndex:
    """Search ``table`` (key column ``key``) at its committed lake version."""

    def __init__(self, lake: Lake, table: str, key: str, settings: IndexSettings | None = None) -> None:
        if not lake.exists(table):
            raise LakeError(f"no {table!r} table in the lake at {lake.root}: run `prefhouse embed` first")
        self.ds: lance.LanceDataset = lake.dataset(table)
        self.key = key
        self.settings = settings or IndexSettings()
        self.n = self.ds.count_rows()
        self.has_index = any(True for _ in self.ds.describe_indices())
        self.use_ann = self.has_index and self.n >= self.settings.ann_min_rows
        self._keys: np.ndarray | None = None
        self._matrix: np.ndarray | None = None
        models = self.ds.to_table(columns=["model"], limit=1).column("model").to_pylist() if self.n else []
        self.model = models[0] if models else None

    def _load(self) -> tuple[np.ndarray, np.ndarray]:
        # Exact search holds the vectors as one matrix, rows sorted by key: a stable sort
        # over similarities then breaks ties by key for free.
        if self._matrix is None:
            table = self.ds.to_table(columns=[self.key, "vector"]).sort_by(self.key)
            self._keys = np.asarray(table.column(self.key).to_pylist(), dtype=object)
            flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            self._matrix = np.ascontiguousarray(flat.reshape(table.num_rows, -1), dtype=np.float32)
        return self._keys, self._matrix  # type: ignore[return-value]

    def vectors(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of ``keys`` (absent keys are left out)."""
        out: dict[str, np.ndarray] = {}
        wanted = pa.array(sorted(set(keys)), pa.string())
        for start in range(0, len(wanted), 4096):
            chunk = wanted[start : start + 4096]
            table = self.ds.to_table(columns=[self.key, "vector"], filter=pc.field(self.key).isin(chunk))
            flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            matrix = flat.reshape(table.num_rows, -1).astype(np.float32)
            out.update(zip(table.column(self.key).to_pylist(), matrix, strict=True))
        return out

    def search(self, queries: np.ndarray, m: int) -> list[Hits]:
        """The ``m`` nearest keys of each query vector (unit vectors; cosine similarity)."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        m = min(m, self.n)
        if m <= 0:
            return [[] for _ in queries]
        if self.use_ann:
            return [self._ann(q, m) for q in queries]
        return self._exact(queries, m)

    def _exact(self, queries: np.ndarray, m: int) -> list[Hits]:
        keys, matrix = self._load()
        out: list[Hits] = []
        for start in range(0, len(queries), 256):  # blocks bound memory: 256 x n similarities
            sims = queries[start : start + 256] @ matrix.T
            for row in sims:
                top = np.argpartition(-row, m - 1)[:m] if m < len(row) else np.arange(len(row))
                top = np.sort(top)  # index order = key order, so the stable sort breaks ties by key
                top = top[np.argsort(-row[top], kind="stable")]
                out.append([(keys[i], float(row[i])) for i in top])
        return out

    def _ann(self, query: np.ndarray, m: int) -> Hits:
        nearest = {
            "column": "vector",
            "q": query,
            "k": m,
            "metric": "cosine",
            "nprobes": self.settings.nprobes,
            "refine_factor": self.settings.refine_factor,
        }
        table = self.ds.to_table(columns=[self.key], nearest=nearest)
        hits = [
            (k, 1.0 - float(d))
            for k, d in zip(table.column(self.key).to_pylist(), table.column("_distance").to_pylist(), strict=True)
        ]
        return sorted(hits, key=lambda h: (-h[1], h[0]))
