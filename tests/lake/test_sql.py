"""SQL over the lake: tables by name, time travel, the analyst DuckDB file, and the CLI."""

from __future__ import annotations

import csv
import io
import json

import duckdb
import pytest

from lake import LakeError
from lake.analyst import refresh
from lake.records import pair_row, pairs_table
from lake.sql import query, time_travel_refs
from prefhouse.cli import main


def _two_versions(lake):
    lake.append("pairs", pairs_table([pair_row("q1", "a", "b", source="s1")]))
    lake.tag("pairs", "round-1")
    lake.append("pairs", pairs_table([pair_row("q2", "c", "d", source="s2")]))
    return lake.version("pairs")


def test_time_travel_by_tag_and_version(lake):
    latest = _two_versions(lake)
    assert query(lake, "select count(*) n from pairs").to_pylist() == [{"n": 2}]
    assert query(lake, 'select count(*) n from "pairs@round-1"').to_pylist() == [{"n": 1}]
    old = query(lake, f'select count(*) n from "pairs@{latest - 1}"').to_pylist()
    assert old == [{"n": 1}]
    joined = query(lake, 'select p.source from pairs p anti join "pairs@round-1" o using (pair_id)')
    assert joined.to_pylist() == [{"source": "s2"}]
    assert time_travel_refs('select * from "pairs@round-1", "x@2"') == [("pairs", "round-1"), ("x", "2")]


def test_unwritten_known_table_is_empty_and_errors_name_the_fix(lake):
    _two_versions(lake)
    assert query(lake, "select count(*) n from human_labels").to_pylist() == [{"n": 0}]
    assert not lake.exists("human_labels")  # SQL never writes
    with pytest.raises(LakeError, match="no version or tag"):
        query(lake, 'select * from "pairs@round-9"')
    with pytest.raises(LakeError, match="hint: tables are"):
        query(lake, "select * from nosuchtable")


def test_duckdb_file_is_a_refreshed_copy(lake):
    _two_versions(lake)
    path = refresh(lake)
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("select count(*) from pairs").fetchone() == (2,)
    versions = con.execute("select table_name, version, rows, tags from _lake_versions").fetchall()
    con.close()
    assert ("pairs", lake.version("pairs"), 2, []) in versions
    lake.append("pairs", pairs_table([pair_row("q3", "e", "f")]))
    refresh(lake)
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("select count(*) from pairs").fetchone() == (3,)
    con.close()


def test_cli_sql_formats_tables_history_tag(lake, capsys):
    _two_versions(lake)
    root = str(lake.root)
    assert main(["--lake", root, "sql", "select source, is_tie from pairs order by source", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"source": "s1", "is_tie": False}, {"source": "s2", "is_tie": False}]
    assert main(["--lake", root, "sql", 'select source, conversation from "pairs@round-1"', "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["source"] == "s1" and json.loads(rows[0]["conversation"])[0]["content"] == "q1"
    assert main(["--lake", root, "sql", "select count(*) as n from pairs"]) == 0
    assert "(1 rows)" in capsys.readouterr().out
    assert main(["--lake", root, "tag", "pairs", "best", "--version", "1"]) == 0
    assert main(["--lake", root, "tables", "--json"]) == 0
    (pairs,) = [t for t in json.loads(capsys.readouterr().out.split("\n", 1)[1]) if t["table"] == "pairs"]
    assert pairs["rows"] == 2 and pairs["tags"] == ""  # both tags name version 1, not the listed version
    assert main(["--lake", root, "history", "pairs", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [h["rows"] for h in history][-2:] == [1, 2] and history[-1]["is_current"]
    assert main(["--lake", root, "sql", 'select * from "pairs@nope"']) == 2
    assert "no version or tag" in capsys.readouterr().err
    assert main(["--lake", root, "db", "refresh"]) == 0
    assert (lake.root / "lake.duckdb").exists()


@pytest.mark.parametrize(
    "sql",
    [
        "copy (select 'oops' as x) to '{root}/_lake.json' (format csv, header false)",
        "copy (select 1 as x) to '{root}/pairs.lance/data/oops.parquet'",
        "attach '{root}/lake.duckdb' as a; drop table a.pairs",
        "select * from read_csv('/etc/passwd')",
        "select * from read_text('/etc/hostname')",
        "set enable_external_access = true",
    ],
)
def test_analyst_sql_cannot_write_attach_or_read_files(lake, sql):
    """Issue 16, finding 1: each of these once succeeded and could break the lake."""
    _two_versions(lake)
    refresh(lake)
    before = {p.name: p.stat().st_mtime_ns for p in lake.root.iterdir()}
    with pytest.raises(LakeError, match="read-only"):
        query(lake, sql.format(root=lake.root))
    assert {p.name: p.stat().st_mtime_ns for p in lake.root.iterdir()} == before
    assert query(lake, "select count(*) n from pairs").to_pylist() == [{"n": 2}]  # the lake still reads
    con = duckdb.connect(str(lake.root / "lake.duckdb"), read_only=True)
    assert con.sql("select count(*) from pairs").fetchone() == (2,)  # the analyst file kept its tables
    con.close()


def test_sql_out_writes_only_where_asked_and_never_inside_the_lake(lake, tmp_path, capsys):
    _two_versions(lake)
    out = tmp_path / "res" / "sources.parquet"
    assert main(["--lake", str(lake.root), "sql", "select source from pairs order by 1", "--out", str(out)]) == 0
    import pyarrow.parquet as pq

    assert pq.read_table(out).to_pylist() == [{"source": "s1"}, {"source": "s2"}]
    assert main(["--lake", str(lake.root), "sql", "select 1 as x", "--out", str(lake.root / "x.csv")]) == 2
    assert "inside the lake" in capsys.readouterr().err
    assert not (lake.root / "x.csv").exists()
