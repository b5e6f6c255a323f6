"""The analyst file ``<lake>/lake.duckdb``: the lake and every round's marts in one DuckDB file.

Any DuckDB client opens it (``duckdb lakehouse/lake.duckdb``) and sees the same names as
``prefhouse sql``:

- ``pairs``, ``curated``, ... : each table at the committed version of one lake commit;
- ``"curated@round-3"``: each tagged version, as time travel names it;
- ``marts_round_N.<model>``: the marts of round N's last dbt build, and ``marts.<model>``
  (views) those of the last build of any round; ``_marts_builds`` says which build each
  schema holds (round, stage, passed, when, the lake versions it read);
- ``_lake_versions``: the version, rows and tags of every table copied, and the commit.

:func:`refresh` keeps it current without rewriting what did not change: it copies the file,
replaces only the tables whose version (and the round schemas whose build) changed, and
swaps the copy in atomically, so a reader never sees a half-written file. The command line
refreshes it after every command that committed to the lake or built marts; ``prefhouse db
refresh`` does it by hand. It is derived data: deleting it loses nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from lake.store import Lake

DUCKDB_FILE = "lake.duckdb"
LOCK_FILE = ".lake.duckdb.lock"
VERSIONS = pa.schema(
    [
        ("table_name", pa.string()),
        ("version", pa.int64()),
        ("rows", pa.int64()),
        ("tags", pa.list_(pa.string())),
        ("commit", pa.int64()),
        ("refreshed_at", pa.timestamp("us", tz="UTC")),
    ]
)
BUILDS = pa.schema(
    [
        ("round", pa.int64()),
        ("schema_name", pa.string()),
        ("stage", pa.int64()),
        ("passed", pa.bool_()),
        ("finished_at", pa.string()),
        ("lake_versions", pa.string()),
        ("is_last", pa.bool_()),
    ]
)
# A round's marts: its DuckDB copy and its build record (pipelines.dbt_runner.round_marts).
RoundMarts = Mapping[int, tuple[Path, Mapping[str, Any]]]


def analyst_path(lake: Lake) -> Path:
    return lake.root / DUCKDB_FILE


@contextlib.contextmanager
def _refresh_lock(lake: Lake) -> Iterator[None]:
    """One refresh at a time per lake (readers never wait: they open the last swapped-in file)."""
    with open(lake.root / LOCK_FILE, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _recorded(con: Any, table: str, key: str, value: str) -> dict[Any, Any]:
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = 'main' and table_name = ?", [table])
    if not exists.fetchone()[0]:
        return {}
    return dict(con.execute(f"select {key}, {value} from {table}").fetchall())


def _wanted(lake: Lake) -> dict[str, tuple[Any, list[str]]]:
    """Name in the file -> (Lance dataset, the tags of its version), for each committed table and each
    tagged version."""
    wanted: dict[str, tuple[Any, list[str]]] = {}
    for table in lake.tables():
        tags = {name: int(info["version"]) for name, info in lake.tags(table).items()}
        for name, ds in [(table, lake.dataset(table)), *((f"{table}@{t}", lake.dataset(table, t)) for t in tags)]:
            wanted[name] = (ds, sorted(t for t, v in tags.items() if v == ds.version))
    return wanted


def _is_current(target: Path, wanted: dict[str, tuple[Any, list[str]]], marts: RoundMarts | None) -> bool:
    """Whether the file already holds every wanted version (and build of ``marts``): then it is left alone."""
    import duckdb

    from lake.sql import duckdb_config

    con = duckdb.connect(str(target), read_only=True, config=duckdb_config())
    try:
        if _recorded(con, "_lake_versions", "table_name", "version") != {
            n: ds.version for n, (ds, _) in wanted.items()
        }:
            return False
        builds = {r: str(rec.get("finished_at", "")) for r, (_, rec) in (marts or {}).items()}
        return marts is None or _recorded(con, "_marts_builds", "round", "finished_at") == builds
    finally:
        con.close()


def _sync_tables(con: Any, wanted: dict[str, tuple[Any, list[str]]], commit: int, now: datetime) -> None:
    had = _recorded(con, "_lake_versions", "table_name", "version")
    rows = []
    for name, (ds, tags) in wanted.items():
        if had.get(name) != ds.version:
            con.register("_src", ds)
            con.execute(f"create or replace table {_quote(name)} as select * from _src")
            con.unregister("_src")
        rows.append({"table_name": name, "version": ds.version, "rows": ds.count_rows(), "tags": tags,
                     "commit": commit, "refreshed_at": now})  # fmt: skip
    for name in set(had) - set(wanted):  # a moved or deleted tag
        con.execute(f"drop table if exists {_quote(name)}")
    con.register("_v", pa.Table.from_pylist(rows, schema=VERSIONS))
    con.execute("create or replace table _lake_versions as select * from _v")
    con.unregister("_v")


def _copy_round(con: Any, round: int, db: Path) -> None:
    schema = f"marts_round_{round}"
    con.execute(f"drop schema if exists {schema} cascade")
    con.execute(f"create schema {schema}")
    from lake.sql import sql_string  # lake.sql imports this module

    con.execute(f"attach {sql_string(str(db))} as _src (read_only)")
    try:
        names = con.execute(
            "select table_name from duckdb_tables() where database_name = '_src' and schema_name = 'main'"
        ).fetchall()
        for (name,) in names:
            con.execute(f"create table {schema}.{_quote(name)} as select * from _src.main.{_quote(name)}")
    finally:
        con.execute("detach _src")


def _sync_marts(con: Any, marts: RoundMarts) -> None:
    had = _recorded(con, "_marts_builds", "round", "finished_at")
    for round, (db, record) in sorted(marts.items()):
        if had.get(round) != record.get("finished_at"):
            _copy_round(con, round, db)
    last = max(marts, key=lambda r: str(marts[r][1].get("finished_at", ""))) if marts else None
    con.execute("drop schema if exists marts cascade")
    if last is not None:
        con.execute("create schema marts")
        names = con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() and schema_name = ?",
            [f"marts_round_{last}"],
        ).fetchall()
        for (name,) in names:
            con.execute(f"create view marts.{_quote(name)} as select * from marts_round_{last}.{_quote(name)}")
    rows = [
        {
            "round": round,
            "schema_name": f"marts_round_{round}",
            "stage": int(record.get("stage", 0)),
            "passed": bool(record.get("success")),
            "finished_at": str(record.get("finished_at", "")),
            "lake_versions": json.dumps(record.get("versions", {}), sort_keys=True),
            "is_last": round == last,
        }
        for round, (_, record) in sorted(marts.items())
    ]
    con.register("_b", pa.Table.from_pylist(rows, schema=BUILDS))
    con.execute("create or replace table _marts_builds as select * from _b")
    con.unregister("_b")


def refresh(lake: Lake, marts: RoundMarts | None = None, path: str | Path | None = None, full: bool = False) -> Path:
    """Bring the analyst file up to the lake's commit (and ``marts``, each round's last build); swap it in.

    ``full`` rebuilds it from nothing instead of starting from the current file.
    """
    import duckdb

    from lake.sql import duckdb_config

    target = Path(path) if path else analyst_path(lake)
    tmp = target.with_name(f".{target.name}.tmp.{os.getpid()}")
    # the file holds one lake commit, whatever lands meanwhile
    with _refresh_lock(lake), lake.reading_at() as commit:
        wanted = _wanted(lake)
        if target.exists() and not full and _is_current(target, wanted, marts):
            return target  # e.g. a round refreshed it and the command's own refresh follows
        tmp.unlink(missing_ok=True)
        if target.exists() and not full:  # start from the current file: unchanged tables are not copied again
            shutil.copyfile(target, tmp)
        con = duckdb.connect(str(tmp), config=duckdb_config())
        try:
            _sync_tables(con, wanted, commit.number, datetime.now(UTC))
            if marts is not None:  # None: leave the marts schemas as they are
                _sync_marts(con, marts)
            con.execute("checkpoint")
        finally:
            con.close()
        os.replace(tmp, target)
    return target
