"""Snapshot export in the trainer layout, and the torch IterableDataset over a snapshot."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import torch

from lake.records import pair_row, pairs_table
from lake.snapshot import open_snapshot
from prefhouse.cli import main


def _lake_with_two_fragments(lake):
    lake.append("pairs", pairs_table([pair_row("q1", "a", "b", label_details={"votes": [1, 1]})]))
    lake.tag("pairs", "round-1")
    conv = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "joke?"},
    ]
    lake.append("pairs", pairs_table([pair_row(conv, f"good {i}", f"bad {i}") for i in range(5)]))


def test_export_parquet_trainer_layout_at_tag(lake, tmp_path):
    _lake_with_two_fragments(lake)
    snap = open_snapshot(lake, "pairs", "round-1")
    target = snap.export(tmp_path / "out", "parquet")
    table = pq.read_table(target)
    assert table.num_rows == 1
    assert table.column_names[:4] == ["prompt", "chosen", "rejected", "pair_id"]
    assert {"source", "source_row", "label_details", "is_tie"} <= set(table.column_names)
    (row,) = table.to_pylist()
    assert row["prompt"] == [{"role": "user", "content": "q1"}]
    assert row["chosen"] == [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a"}]
    assert row["rejected"][-1] == {"role": "assistant", "content": "b"}
    manifest = json.loads((tmp_path / "out/snapshot.json").read_text())
    assert manifest["ref"] == "pairs@round-1" and manifest["rows"] == 1


def test_cli_export_jsonl_at_version_with_margin(lake, tmp_path, capsys):
    _lake_with_two_fragments(lake)
    import pyarrow as pa

    from lake.schemas import CURATED

    curated = pa.Table.from_pylist(
        [{"round": 1, "pair_id": "p1", "conversation": [{"role": "user", "content": "q"}], "chosen": "a",
          "rejected": "b", "margin": 1.5, "label_provenance": "human", "source": "s", "reasons": ["kept"]}],
        schema=CURATED,
    )  # fmt: skip
    lake.append("curated", curated)
    out = tmp_path / "exp"
    assert main(["--lake", str(lake.root), "snapshot", "export", "--table", "curated",
                 "--version", str(lake.version("curated")), "--format", "jsonl", "--out", str(out)]) == 0  # fmt: skip
    (row,) = [json.loads(line) for line in (out / "curated.jsonl").read_text().splitlines()]
    assert row["margin"] == 1.5 and row["label_provenance"] == "human" and row["round"] == 1
    assert row["chosen"][-1] == {"role": "assistant", "content": "a"}
    assert "exported curated@v" in capsys.readouterr().out


def test_torch_dataset_shards_fragments_across_workers(lake):
    _lake_with_two_fragments(lake)
    snap = open_snapshot(lake, "pairs")
    assert len(snap.dataset.get_fragments()) == 2
    ds = snap.to_torch(columns=["pair_id", "conversation", "chosen"])
    assert len(ds) == 6
    single = [row["pair_id"] for row in ds]
    # lance is not fork-safe: workers are spawned (the dataset pickles as a lake path + version)
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2, multiprocessing_context="spawn")
    sharded = [row["pair_id"] for row in loader]
    assert sorted(sharded) == sorted(single) and len(set(sharded)) == 6
    assert next(iter(ds))["conversation"][0]["role"] == "user"
