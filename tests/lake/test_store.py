"""The lake's commits: versions, tags, rollback of failed and crashed writes."""

from __future__ import annotations

import multiprocessing
import os

import pyarrow as pa
import pytest

from lake import Lake, LakeError
from lake.records import pair_row, pairs_table


def _pairs(n: int, start: int = 0) -> pa.Table:
    return pairs_table(pair_row(f"prompt {i}", f"good {i}", f"bad {i}") for i in range(start, start + n))


def test_known_table_never_written_reads_empty_and_is_not_created(lake: Lake) -> None:
    assert lake.dataset("attributes").count_rows() == 0
    assert lake.dataset("attributes").schema == lake.dataset("attributes").schema
    assert "attributes" not in lake.tables() and not lake.path("attributes").exists()


def test_each_write_is_a_version_and_tags_read_back(lake: Lake) -> None:
    v1 = lake.append("pairs", _pairs(3))
    v2 = lake.append("pairs", _pairs(2, start=3))
    assert v2 > v1
    lake.tag("pairs", "round-1", version=v1)
    assert lake.dataset("pairs", "round-1").count_rows() == 3
    assert lake.dataset("pairs").count_rows() == 5
    history = lake.history("pairs")
    assert [h["rows"] for h in history][-2:] == [3, 5]
    assert any(h["tags"] == ["round-1"] for h in history)


def test_failed_transaction_leaves_every_table_at_its_last_commit(lake: Lake) -> None:
    lake.append("pairs", _pairs(3))
    before = lake.version("pairs")
    with pytest.raises(RuntimeError, match="boom"), lake.transaction("bad") as txn:
        txn.append("pairs", _pairs(2, start=10))
        txn.append("quarantine", pa.Table.from_pylist([], schema=lake.dataset("quarantine").schema))
        raise RuntimeError("boom")
    assert lake.dataset("pairs").count_rows() == 3
    assert lake.history("pairs")[-1]["rows"] == 3  # restored as a new version with the old rows
    assert lake.version("pairs") >= before


@pytest.mark.parametrize("existing", [False, True])
def test_staged_files_join_the_table_as_one_version(lake: Lake, existing: bool) -> None:
    if existing:
        lake.append("pairs", _pairs(3))
    before = [h["version"] for h in lake.history("pairs")] if existing else []
    with lake.transaction("staged") as txn:
        txn.stage("pairs", _pairs(2, start=10))
        txn.stage("pairs", _pairs(4, start=20))
        assert lake.dataset("pairs").count_rows() == 3 if existing else not lake.exists("pairs")  # nothing visible
        version = txn.commit_staged("pairs")
        assert txn.commit_staged("pairs") is None  # nothing left
    assert [h["version"] for h in lake.history("pairs")] == [*before, version]
    assert lake.dataset("pairs").count_rows() == (9 if existing else 6)


@pytest.mark.parametrize("existing", [False, True])
def test_failed_transaction_drops_staged_files(lake: Lake, existing: bool) -> None:
    if existing:
        lake.append("pairs", _pairs(3))
    with pytest.raises(RuntimeError, match="boom"), lake.transaction("bad") as txn:
        txn.stage("pairs", _pairs(2, start=10))
        raise RuntimeError("boom")
    assert lake.dataset("pairs").count_rows() == (3 if existing else 0)
    with lake.transaction("after") as txn:  # a later stage and commit does not pick up the dropped files
        txn.stage("pairs", _pairs(1, start=30))
        txn.commit_staged("pairs")
    assert lake.dataset("pairs").count_rows() == (4 if existing else 1)


def _crash_mid_write(root: str) -> None:
    lake = Lake(root)
    with lake.transaction("crash") as txn:
        txn.append("pairs", _pairs(5, start=100))
        os._exit(9)  # killed before the commit: no cleanup runs


def test_killed_writer_is_rolled_back_by_the_next_writer(lake: Lake) -> None:
    lake.append("pairs", _pairs(3))
    proc = multiprocessing.get_context("spawn").Process(target=_crash_mid_write, args=(str(lake.root),))
    proc.start()
    proc.join()
    assert proc.exitcode == 9
    assert lake.dataset("pairs").count_rows() == 3  # readers see the committed version
    lake.append("pairs", _pairs(1, start=200))  # the next writer recovers first
    assert lake.dataset("pairs").count_rows() == 4


def test_unknown_version_or_table_says_what_to_do(lake: Lake) -> None:
    lake.append("pairs", _pairs(1))
    with pytest.raises(LakeError, match="prefhouse history pairs"):
        lake.dataset("pairs", "round-9")
    with pytest.raises(LakeError, match="no table 'nope'"):
        lake.dataset("nope")


def test_a_rolled_back_version_cannot_be_tagged_and_tables_lists_the_listed_versions_tags(lake: Lake, capsys) -> None:
    """Issue 16, finding 8: the version a failed write left behind once took a tag and served its rows."""
    import json

    from prefhouse.cli import main

    lake.append("pairs", _pairs(3))
    lake.tag("pairs", "round-1")
    proc = multiprocessing.get_context("spawn").Process(target=_crash_mid_write, args=(str(lake.root),))
    proc.start()
    proc.join()  # a killed writer's version stays until the next writer rolls it back
    ghost = max(h["version"] for h in lake.history("pairs") if h["rows"] == 8)  # the never-committed write
    with pytest.raises(LakeError, match="never committed"):
        lake.tag("pairs", "ghost", version=ghost)
    assert "ghost" not in lake.tags("pairs")
    lake.append("pairs", _pairs(1, start=20))  # rolls the killed write back, reclaims it; round-1 is now older
    assert ghost not in {h["version"] for h in lake.history("pairs")}
    assert main(["--lake", str(lake.root), "tables", "--json"]) == 0
    listed = {r["table"]: r for r in json.loads(capsys.readouterr().out)}
    assert listed["pairs"]["rows"] == 4 and listed["pairs"]["tags"] == ""
    lake.tag("pairs", "round-2")
    assert main(["--lake", str(lake.root), "tables", "--json"]) == 0
    assert {r["table"]: r for r in json.loads(capsys.readouterr().out)}["pairs"]["tags"] == "round-2"
