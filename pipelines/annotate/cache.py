"""Every LLM call cached and resumable: a SQLite file under the lake root.

The key is (prompt template version, model, sampling parameters, pair_id, variant), where
the variant names the sample, the order shown and the attempt (``s0/chosen-first/a0``).
Each answer is committed the moment it arrives, so a run killed midway and started again
pays only for the calls that are missing. Failed calls are not cached: they are retried.
SQLite (WAL) rather than a Lance table because answers land one at a time from many
concurrent requests; a Lance version per answer would be wasteful. One process opens the file:
this one, or on the Ray engine a cache server on the driver's node that the actors ask
(``pipelines.scale.llm``): SQLite's WAL needs every process that opens a database on one host.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

CACHE_FILE = "_llm_cache.sqlite"

_DDL = """
create table if not exists calls (
    key text primary key,
    template_version text not null,
    model text not null,
    sampling text not null,
    pair_id text not null,
    variant text not null,
    output text not null,
    created_at text not null
)
"""


def call_key(template_version: str, model: str, sampling: str, pair_id: str, variant: str) -> str:
    payload = json.dumps([template_version, model, sampling, pair_id, variant])
    return hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()


class Cache(Protocol):
    """What :func:`pipelines.annotate.calls.run_calls` needs of a cache: look up many, store one."""

    def get_many(self, keys: Sequence[str]) -> dict[str, str]: ...

    def put(
        self, key: str, output: str, *, template_version: str, model: str, sampling: str, pair_id: str, variant: str
    ) -> None: ...


_CHUNK = 500  # keys per lookup query (under SQLite's bound-parameter limit)


class CallCache:
    """A persistent map from call key to the model's raw output."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self._db.execute("pragma journal_mode=wal")
        self._db.execute(_DDL)
        self._db.commit()

    @classmethod
    def for_lake(cls, lake_root: str | Path) -> CallCache:
        return cls(Path(lake_root) / CACHE_FILE)

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("select output from calls where key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def get_many(self, keys: Sequence[str]) -> dict[str, str]:
        """The cached outputs of those ``keys`` that have one."""
        found: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(keys), _CHUNK):
                chunk = list(keys[start : start + _CHUNK])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"select key, output from calls where key in ({marks})", chunk)
                found.update((str(k), str(v)) for k, v in rows)
        return found

    def put(
        self, key: str, output: str, *, template_version: str, model: str, sampling: str, pair_id: str, variant: str
    ) -> None:
        with self._lock:
            self._db.execute(
                "insert or replace into calls values (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, template_version, model, sampling, pair_id, variant, output, datetime.now(UTC).isoformat()),
            )
            self._db.commit()  # per answer: a kill loses nothing already paid for

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("select count(*) from calls").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
