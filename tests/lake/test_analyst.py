"""One SQL surface (issue 17, point 4): lake tables, tagged versions and every round's marts in
`prefhouse sql` and in the analyst file `<lake>/lake.duckdb`, kept current by the commands."""

from __future__ import annotations

import json

import duckdb
import pytest

from lake import LakeError
from lake.analyst import analyst_path, refresh
from lake.records import pair_row, pairs_table
from lake.sql import query
from pipelines import dbt_runner
from prefhouse.cli import main

JOIN = """
select m.pair_id, m.decision, p.source, f.source as flipped_source
from "pairs@round-1" f join marts.curated_pairs m using (pair_id) join pairs p using (pair_id)
order by m.pair_id
"""


def _round_build(lake, round: int, decisions: dict[str, str], finished_at: str) -> None:
    """A round's marts as dbt_runner leaves them: a DuckDB copy and its build record under _dbt/rounds/."""
    rounds = dbt_runner.dbt_dir(lake) / dbt_runner.ROUNDS_DIR
    rounds.mkdir(parents=True, exist_ok=True)
    db = rounds / f"round_{round}.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute("create table curated_pairs (pair_id varchar, decision varchar)")
    con.executemany("insert into curated_pairs values (?, ?)", list(decisions.items()))
    con.execute("create view a_view as select 1 as x")  # views of dbt's own file are not copied
    con.close()
    record = {"round": round, "stage": 1, "success": True, "finished_at": finished_at, "versions": {"pairs": 1}}
    (rounds / f"round_{round}.json").write_text(json.dumps(record))


def _lake_with_rounds(lake) -> list[str]:
    lake.append("pairs", pairs_table([pair_row("q1", "a", "b", source="s1"), pair_row("q2", "c", "d", source="s2")]))
    ids = sorted(r["pair_id"] for r in lake.dataset("pairs").to_table(columns=["pair_id"]).to_pylist())
    lake.tag("pairs", "round-1")
    lake.append("pairs", pairs_table([pair_row("q3", "e", "f", source="s3")]))
    _round_build(lake, 1, {ids[0]: "keep"}, "2026-12-01T00:00:00")
    _round_build(lake, 2, {ids[0]: "flip", ids[1]: "keep"}, "2026-12-02T00:00:00")
    return ids


def test_one_query_joins_a_tagged_version_the_marts_and_a_live_table(lake):
    ids = _lake_with_rounds(lake)
    path = dbt_runner.refresh_analyst_file(lake)
    want = [
        {"pair_id": ids[0], "decision": "flip", "source": "s1", "flipped_source": "s1"},
        {"pair_id": ids[1], "decision": "keep", "source": "s2", "flipped_source": "s2"},
    ]
    assert query(lake, JOIN).to_pylist() == want  # prefhouse sql
    con = duckdb.connect(str(path), read_only=True)  # any DuckDB client on the analyst file
    try:
        rows = con.execute(JOIN).fetchall()
        assert [dict(zip(want[0], r, strict=True)) for r in rows] == want
        assert con.execute("select count(*) from marts_round_1.curated_pairs").fetchone() == (1,)
        builds = con.execute("select round, schema_name, passed, is_last from _marts_builds order by 1").fetchall()
        assert builds == [(1, "marts_round_1", True, False), (2, "marts_round_2", True, True)]
        copied = con.execute("select distinct table_name from duckdb_tables() where schema_name like 'marts%'")
        assert copied.fetchall() == [("curated_pairs",)]
    finally:
        con.close()


def test_refresh_replaces_only_what_changed(lake):
    ids = _lake_with_rounds(lake)
    path = refresh(lake, dbt_runner.round_marts(lake))
    lake.append("pairs", pairs_table([pair_row("q4", "g", "h", source="s4")]))
    lake.tag("pairs", "round-1", lake.version("pairs"))  # the tag moves: its copy follows
    _round_build(lake, 2, {ids[1]: "drop"}, "2026-12-03T00:00:00")
    refresh(lake, dbt_runner.round_marts(lake))
    stamp = path.stat().st_mtime_ns
    refresh(lake, dbt_runner.round_marts(lake))  # nothing changed since: the file is left as it is
    assert path.stat().st_mtime_ns == stamp
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute('select count(*) from "pairs@round-1"').fetchone() == (4,)
        assert con.execute("select count(*) from pairs").fetchone() == (4,)
        assert con.execute("select decision from marts.curated_pairs").fetchall() == [("drop",)]
        assert con.execute("select decision from marts_round_1.curated_pairs").fetchall() == [("keep",)]
        versions = dict(con.execute("select table_name, version from _lake_versions").fetchall())
        assert versions == {"pairs": lake.version("pairs"), "pairs@round-1": lake.version("pairs")}
    finally:
        con.close()


@pytest.mark.parametrize(
    "sql",
    [
        "attach '{root}/_dbt/rounds/round_1.duckdb' as r; drop table r.curated_pairs",
        "attach '{root}/lake.duckdb' as a; create table a.evil as select 1",
        "drop table marts_round_1.curated_pairs",
        "create table evil as select 1",
    ],
)
def test_the_marts_in_analyst_sql_are_read_only(lake, sql):
    _lake_with_rounds(lake)
    dbt_runner.refresh_analyst_file(lake)
    with pytest.raises(LakeError, match="read-only"):
        query(lake, sql.format(root=lake.root))
    assert query(lake, "select count(*) n from marts_round_1.curated_pairs").to_pylist() == [{"n": 1}]


def test_commands_that_commit_keep_the_file_current_and_reads_never_write_it(lake, capsys):
    ids = _lake_with_rounds(lake)
    root = str(lake.root)
    assert not analyst_path(lake).exists()
    assert main(["--lake", root, "tag", "pairs", "best"]) == 0  # a command that changes the lake
    con = duckdb.connect(str(analyst_path(lake)), read_only=True)
    assert con.execute('select count(*) from "pairs@best"').fetchone() == (3,)
    assert con.execute("select count(*) from marts.curated_pairs").fetchone() == (2,)
    con.close()
    stamp = analyst_path(lake).stat().st_mtime_ns
    capsys.readouterr()
    assert main(["--lake", root, "sql", JOIN, "--format", "json"]) == 0
    assert [r["pair_id"] for r in json.loads(capsys.readouterr().out)] == ids
    assert analyst_path(lake).stat().st_mtime_ns == stamp  # a read left it alone
    assert main(["--lake", root, "sql", "select nope from marts.curated_pairs"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "nope" in err


def test_dbt_sql_has_the_same_formats_and_one_line_errors(lake, capsys):
    import shutil

    _lake_with_rounds(lake)
    shutil.copyfile(dbt_runner.dbt_dir(lake) / "rounds" / "round_2.duckdb", dbt_runner.duckdb_path(lake))
    dbt_sql = ["--lake", str(lake.root), "dbt", "sql"]
    assert main([*dbt_sql, "select decision from curated_pairs order by 1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"decision": "flip"}, {"decision": "keep"}]
    assert main([*dbt_sql, "select decision from curated_pairs where false", "--format", "csv"]) == 0
    assert capsys.readouterr().out.strip() == '"decision"'
    assert main([*dbt_sql, "select nope from curated_pairs"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "nope" in err
