"""DuckDB over the lake: every table by name, and time travel as ``"table@ref"``.

:func:`connect` returns an in-memory DuckDB connection (extension auto-install and
auto-load off, so nothing tries the network) on which every committed table is
registered as its pinned Lance dataset (DuckDB scans it with projection and filter
pushdown), all of one lake commit. A quoted identifier ``"pairs@round-3"`` (tag) or ``"pairs@12"`` (version)
in a query is parsed out and registered too.

:func:`sql_string` and :func:`sql_in` are the one way the code quotes a value into SQL or a
Lance filter.

"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from lake.analyst import analyst_path
from lake.schemas import TABLES
from lake.store import Lake, LakeError

TIME_TRAVEL = re.compile(r'"([A-Za-z][A-Za-z0-9_]*)@([A-Za-z0-9_.\-]+)"')


def sql_string(value: str) -> str:
    """``value`` as a SQL string literal (DuckDB and Lance filters alike): in single quotes, each quote doubled."""
    return "'" + value.replace("'", "''") + "'"


def sql_in(column: str, values: Iterable[str]) -> str:
    """The filter ``column IN ('a', 'b', ...)``, each value quoted by :func:`sql_string`."""
    return f"{column} IN ({', '.join(sql_string(v) for v in values)})"


def duckdb_config(threads: int = 2) -> dict[str, Any]:
    return {"autoinstall_known_extensions": False, "autoload_known_extensions": False, "threads": threads}


def read_only_config(threads: int = 2) -> dict[str, Any]:
    """Settings of every analyst connection: no file, directory or network access beyond what the lake
    registers (so no COPY ... TO, ATTACH, read_csv or read_text), and locked so a query cannot undo them."""
    return {**duckdb_config(threads), "enable_external_access": False, "lock_configuration": True}


@contextlib.contextmanager
def open_read_only(path: str | Path, threads: int = 2) -> Iterator[Any]:
    """A read-only connection to one DuckDB file (marts, a round's copy) with the analyst settings."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True, config=read_only_config(threads))
    try:
        yield con
    finally:
        con.close()


READ_ONLY_HINT = (
    "analyst SQL is read-only: it cannot write, attach or read files. To save a result, use "
    "`prefhouse sql QUERY --out FILE` (.parquet, .csv or .jsonl, outside the lake)"
)


def one_line(exc: BaseException) -> str:
    """A DuckDB error as one line: its message lines joined, without the query excerpt and caret it adds."""
    lines = [ln.strip() for ln in str(exc).splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("LINE ") and set(ln) != {"^"}]
    return "; ".join(lines)


def time_travel_refs(query: str) -> list[tuple[str, str]]:
    """The ``(table, version-or-tag)`` pairs a query names as ``"table@ref"``."""
    return sorted(set(TIME_TRAVEL.findall(query)))


def connect(lake: Lake, query: str = "", threads: int = 2) -> Any:
    """A DuckDB connection with the lake's tables (and the query's ``"t@ref"``) registered."""
    import duckdb

    analyst = analyst_path(lake)
    if analyst.exists():  # read-only: every database attached later is read-only too
        con = duckdb.connect(str(analyst), read_only=True, config=read_only_config(threads))
    else:
        con = duckdb.connect(":memory:", config=read_only_config(threads))
    with lake.reading_at():  # every table of one query from one lake commit
        committed = set(lake.tables())
        for table in committed:
            con.register(table, lake.dataset(table))
        for table, schema in TABLES.items():
            if table not in committed:  # never written: an empty table, without writing to the lake
                con.register(table, schema.empty_table())
        for table, ref in time_travel_refs(query):
            if table not in committed:
                known = ", ".join(sorted(committed))
                raise LakeError(f'"{table}@{ref}": no table {table!r} in the lake (tables: {known})')
            con.register(f"{table}@{ref}", lake.dataset(table, ref))
    return con


def query(lake: Lake, sql: str, threads: int = 2) -> pa.Table:
    """Run one query over the lake and return its result as Arrow."""
    import duckdb

    con = connect(lake, sql, threads)
    try:
        return con.execute(sql).fetch_arrow_table()
    except duckdb.CatalogException as exc:
        hint = f'tables are {", ".join(lake.tables())}; old versions: "pairs@TAG"; marts: marts.curated_pairs'
        raise LakeError(f"SQL error: {one_line(exc)} (hint: {hint})") from exc
    except (duckdb.PermissionException, duckdb.InvalidInputException) as exc:
        if any(m in str(exc) for m in ("disabled by config", "configuration has been locked", "read-only mode")):
            raise LakeError(f"{READ_ONLY_HINT} ({one_line(exc)})") from exc
        raise LakeError(f"SQL error: {one_line(exc)}") from exc
    except duckdb.Error as exc:
        raise LakeError(f"SQL error: {one_line(exc)}") from exc
    finally:
        con.close()


def write_result(lake: Lake, table: pa.Table, path: str | Path) -> Path:
    """Save a query result where the user names, by suffix (.parquet, .csv, .jsonl); never inside the lake."""
    out = Path(path).expanduser().resolve()
    root = lake.root.resolve()
    if out == root or root in out.parents:
        raise LakeError(f"--out {out} lies inside the lake at {root}: results are written outside it")
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv", ".jsonl"):
        raise LakeError(f"--out {out}: give a file ending in .parquet, .csv or .jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.{os.getpid()}")
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, tmp)
    elif suffix == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, tmp)
    else:
        import json

        with open(tmp, "w", encoding="utf-8") as fh:
            for row in table.to_pylist():
                fh.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
    os.replace(tmp, out)
    return out
