"""Staging folders (files a job writes before its commit) and adding a dataset written there to a table."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import lance
import pyarrow as pa
import pytest

from lake import Lake, LakeError
from lake.records import pair_row, pairs_table
from lake.schemas import PAIRS


def _pairs(n: int, start: int = 0) -> pa.Table:
    return pairs_table(pair_row(f"prompt {i}", f"good {i}", f"bad {i}") for i in range(start, start + n))


def _write_staged(folder: Path, rows: pa.Table, lake: Lake, table: str = "pairs") -> str:
    """What a Ray job's workers do: a dataset of the table's schema and Lance format in the folder."""
    fmt = lake.dataset(table).data_storage_version if lake.exists(table) else "2.0"
    uri = str(folder / "rows.lance")
    lance.write_dataset(rows, uri, schema=PAIRS, max_rows_per_file=2, data_storage_version=fmt)
    return uri


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


@pytest.mark.parametrize("existing", [False, True])
def test_a_staged_dataset_joins_the_table_as_one_version_its_files_moved(lake: Lake, existing: bool) -> None:
    if existing:
        lake.append("pairs", _pairs(3))
    with lake.staging("job") as folder:
        uri = _write_staged(folder, _pairs(5, start=10), lake)
        with lake.transaction("add") as txn:
            txn.add_dataset("pairs", uri)
        assert not list((folder / "rows.lance" / "data").iterdir())  # moved, not copied
    assert not folder.exists()
    ids = lake.dataset("pairs").to_table(columns=["pair_id"])["pair_id"].to_pylist()
    assert len(ids) == len(set(ids)) == (8 if existing else 5)
    assert lake.reclaim().bytes_removed == 0  # every moved file is referenced: nothing is an orphan


def test_a_staged_dataset_of_another_schema_is_refused_and_the_table_stays(lake: Lake) -> None:
    lake.append("pairs", _pairs(3))
    with lake.staging() as folder:
        uri = str(folder / "other.lance")
        lance.write_dataset(pa.table({"x": [1, 2]}), uri, data_storage_version="2.0")
        with pytest.raises(LakeError, match="schema"), lake.transaction("add") as txn:
            txn.add_dataset("pairs", uri)
    assert lake.dataset("pairs").count_rows() == 3


def test_a_failed_commit_after_the_move_leaves_the_table_and_reclaims_the_files(lake: Lake) -> None:
    lake.append("pairs", _pairs(3))
    before = lake.dataset("pairs").to_table()
    with lake.staging() as folder:
        uri = _write_staged(folder, _pairs(4, start=10), lake)
        with pytest.raises(RuntimeError, match="boom"), lake.transaction("add") as txn:
            txn.add_dataset("pairs", uri)
            raise RuntimeError("boom")
    assert lake.dataset("pairs").to_table().equals(before)
    data = lake.path("pairs") / "data"
    referenced = {f.path for frag in lake.dataset("pairs").get_fragments() for f in frag.metadata.data_files()}
    assert {p.name for p in data.iterdir()} == referenced  # the moved files went with the rollback


def _die_in_staging(root: str, ready: str) -> None:
    with Lake(root).staging("job") as folder:
        (folder / "part.lance").write_text("half a file")
        Path(ready).write_text(str(folder))
        os._exit(9)  # the job's process dies: its folder stays behind, unlocked


def test_a_dead_jobs_staging_folder_is_reclaimed_and_a_live_ones_is_not(lake: Lake, tmp_path: Path) -> None:
    lake.append("pairs", _pairs(1))
    ready = tmp_path / "ready"
    proc = multiprocessing.get_context("spawn").Process(target=_die_in_staging, args=(str(lake.root), str(ready)))
    proc.start()
    proc.join()
    assert proc.exitcode == 9
    dead = Path(ready.read_text())
    assert dead.exists()
    with lake.staging("live") as live:
        lake.append("pairs", _pairs(1, start=5))  # the next writer's recovery removes the dead job's folder
        assert not dead.exists() and live.exists()
        assert lake.reclaim().staging == 0 and live.exists()  # the live job keeps its folder
    assert not live.exists()
