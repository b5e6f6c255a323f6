"""Snapshot export in the trainer layouts with its dataset card, and the torch IterableDataset over a snapshot."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from lake.records import pair_row, pairs_table
from lake.schemas import CURATED
from lake.snapshot import open_snapshot
from prefhouse.cli import main

SHIPPED_HH = Path(__file__).resolve().parents[2] / "data" / "hh-rlhf" / "helpful-base" / "test.jsonl.gz"
CONV = [
    {"role": "system", "content": "be brief"},
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": "hello"},
    {"role": "user", "content": "joke?"},
]


def _lake_with_two_fragments(lake):
    lake.append("pairs", pairs_table([pair_row("q1", "a", "b", label_details={"votes": [1, 1]})]))
    lake.tag("pairs", "round-1")
    lake.append("pairs", pairs_table([pair_row(CONV[1:], f"good {i}", f"bad {i}") for i in range(5)]))


def _curated(lake, margins=(1.5, None, -0.5)):
    """pairs (one from the shipped hh-rlhf file, one tie) and curated@round-2 with the given margins."""
    rows = [
        pair_row("q hh", "a hh", "b hh", source="hh-rlhf:helpful-base", source_file=str(SHIPPED_HH), source_row=3),
        pair_row(CONV, "good", "bad", source="mine", source_file="/data/mine.jsonl"),
        pair_row("q3", "yes", "no", source="mine", source_file="/data/mine.jsonl", source_row=1),
        pair_row("tie?", "x", "y", is_tie=True),
    ]
    lake.append("pairs", pairs_table(rows))
    prov = ["human", "rm", "original"]
    curated = pa.Table.from_pylist(
        [{"round": 2, "pair_id": r["pair_id"], "conversation": r["conversation"], "chosen": r["chosen"],
          "rejected": r["rejected"], "margin": m, "label_provenance": p, "source": r["source"], "reasons": ["kept"]}
         for r, m, p in zip(rows[:3], margins, prov, strict=True)],
        schema=CURATED,
    )  # fmt: skip
    lake.append("curated", curated)
    lake.tag("curated", "round-2")
    return rows


def test_export_parquet_trl_layout_at_tag(lake, tmp_path):
    _lake_with_two_fragments(lake)
    snap = open_snapshot(lake, "pairs", "round-1")
    target = snap.export(tmp_path / "out", "parquet")
    table = pq.read_table(target)
    assert table.num_rows == 1
    assert table.column_names[:4] == ["prompt", "chosen", "rejected", "pair_id"]
    assert {"source", "source_row", "label_details"} <= set(table.column_names)
    assert "margin" not in table.column_names and "conversation" not in table.column_names
    (row,) = table.to_pylist()
    # TRL's explicit-prompt layout: the conversation once, in prompt; the replies alone
    assert row["prompt"] == [{"role": "user", "content": "q1"}]
    assert row["chosen"] == [{"role": "assistant", "content": "a"}]
    assert row["rejected"] == [{"role": "assistant", "content": "b"}]
    manifest = json.loads((tmp_path / "out/snapshot.json").read_text())
    assert manifest["ref"] == "pairs@round-1" and manifest["rows"] == 1 and manifest["layout"] == "trl"
    assert (tmp_path / "out/README.md").read_text().startswith("---\nconfigs:")


def test_implicit_openrlhf_and_text_layouts(lake, tmp_path):
    from rm.formatting import plain_format

    _lake_with_two_fragments(lake)
    snap = open_snapshot(lake, "pairs")
    implicit = pq.read_table(snap.export(tmp_path / "imp", layout="trl-implicit")).to_pylist()
    openrlhf = pq.read_table(snap.export(tmp_path / "orl", layout="openrlhf")).to_pylist()
    text = pq.read_table(snap.export(tmp_path / "txt", layout="text")).to_pylist()
    assert len(implicit) == len(openrlhf) == len(text) == 6
    lake_rows = {r["pair_id"]: r for r in snap.dataset.to_table().to_pylist()}
    for imp, orl, txt in zip(implicit, openrlhf, text, strict=True):
        lake_row = lake_rows[imp["pair_id"]]
        assert "prompt" not in imp and "prompt" not in orl
        assert imp["chosen"] == [*lake_row["conversation"], {"role": "assistant", "content": lake_row["chosen"]}]
        assert imp["rejected"][-1] == {"role": "assistant", "content": lake_row["rejected"]}
        assert orl["chosen"] == imp["chosen"] and orl["rejected"] == imp["rejected"]
        # prompt + reply is the plain text `prefhouse train` reads for that side
        assert txt["prompt"] + txt["chosen"] == plain_format(lake_row["conversation"], lake_row["chosen"])
        assert txt["prompt"] + txt["rejected"] == plain_format(lake_row["conversation"], lake_row["rejected"])


def test_text_layout_renders_system_and_earlier_turns(lake, tmp_path):
    from rm.formatting import plain_format

    _curated(lake)
    snap = open_snapshot(lake, "curated", "round-2")
    rows = pq.read_table(snap.export(tmp_path / "txt", layout="text")).to_pylist()
    multi = next(r for r in rows if r["chosen"] == "good")
    assert multi["prompt"] == "System: be brief\n\nUser: hi\n\nAssistant: hello\n\nUser: joke?\n\nAssistant: "
    assert multi["prompt"] + multi["chosen"] == plain_format(CONV, "good")


def test_ties_are_left_out_and_counted(lake, tmp_path):
    _curated(lake)
    target = open_snapshot(lake, "pairs").export(tmp_path / "out")
    assert pq.read_table(target).num_rows == 3
    manifest = json.loads((tmp_path / "out/snapshot.json").read_text())
    assert manifest["rows"] == 3 and manifest["ties_left_out"] == 1
    assert "| ties left out | 1 |" in (tmp_path / "out/README.md").read_text()


def test_cli_margin_is_opt_in_and_defined(lake, tmp_path, capsys):
    _curated(lake)
    version = str(lake.version("curated"))
    common = ["--lake", str(lake.root), "snapshot", "export", "--table", "curated", "--version", version]
    assert main([*common, "--format", "jsonl", "--out", str(tmp_path / "plain")]) == 0
    plain = [json.loads(line) for line in (tmp_path / "plain/curated.jsonl").read_text().splitlines()]
    assert all("margin" not in r for r in plain)
    assert main([*common, "--format", "jsonl", "--margin", "--out", str(tmp_path / "m")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "m/curated.jsonl").read_text().splitlines()]
    by_reply = {r["chosen"][0]["content"]: r for r in rows}
    # the RM margin where there is one, null as 0, a negative margin clipped to 0
    assert by_reply["a hh"]["margin"] == 1.5 and by_reply["good"]["margin"] == 0.0 and by_reply["yes"]["margin"] == 0.0
    assert by_reply["good"]["label_provenance"] == "rm" and by_reply["good"]["round"] == 2
    out = capsys.readouterr().out
    assert "exported curated@v" in out and "layout trl" in out
    card = (tmp_path / "m/README.md").read_text()
    assert "max(0, the table's `margin`), with null as 0" in card
    assert "Rows with an RM margin: 2 (1 of them negative, written as 0); rows without one: 1" in card
    with pytest.raises(ValueError, match="margin column"):
        open_snapshot(lake, "pairs").export(tmp_path / "bad", margin=True)


def test_other_tables_are_exported_as_they_are(lake, tmp_path):
    _curated(lake)
    target = open_snapshot(lake, "ingest_batches").export(tmp_path / "ib")
    assert json.loads((tmp_path / "ib/snapshot.json").read_text())["layout"] == "table"
    assert pq.read_table(target).num_rows == 0
    with pytest.raises(ValueError, match="needs conversation, chosen and rejected"):
        open_snapshot(lake, "ingest_batches").export(tmp_path / "ib2", layout="text")


def test_card_counts_licenses_and_unrecorded_rule(lake, tmp_path):
    _curated(lake)
    open_snapshot(lake, "curated", "round-2").export(tmp_path / "out")
    card = (tmp_path / "out/README.md").read_text()
    assert "# curated@round-2 (trl layout)" in card and "| round | 2 |" in card and "| rows | 3 |" in card
    assert "| human | 1 |" in card and "| rm | 1 |" in card and "| original | 1 |" in card
    assert "| mine | 2 |" in card and "| hh-rlhf:helpful-base | 1 |" in card
    # the shipped file's license from data/MANIFEST.tsv, its bytes checked; an unknown file said so
    hh = next(line for line in card.splitlines() if line.startswith("| hh-rlhf:helpful-base | `"))
    assert "| MIT | the shipped file (sha256 matches" in hh
    mine = next(line for line in card.splitlines() if line.startswith("| mine | `"))
    assert "| unknown | not a file shipped in data/" in mine
    assert "Not recorded: the lake has no dbt build of round 2 (its last build is no dbt build)" in card


def test_card_lists_the_rule_of_the_rounds_dbt_build(lake, tmp_path):
    from pipelines.dbt_runner import LAST_BUILD, BuildResult, dbt_dir

    _curated(lake)
    dbt_dir(lake).mkdir(parents=True, exist_ok=True)
    build = BuildResult(
        command="build", round=2, stage=2, success=True,
        vars={"stage2_on_mixed": "flip", "round": 2, "stage": 2, "lake_at": {"pairs": 1}},
        versions={"pairs": 1}, duckdb_path="x.duckdb", target_path="target",
        finished_at=datetime(2020, 1, 1, tzinfo=UTC).isoformat(),
    )  # fmt: skip
    (dbt_dir(lake) / LAST_BUILD).write_text(json.dumps(asdict(build)))
    open_snapshot(lake, "curated", "round-2").export(tmp_path / "out")
    card = (tmp_path / "out/README.md").read_text()
    assert "Stage 2 (large scale)" in card and "last dbt build of round 2 (stage 2) passed" in card
    assert '| `stage2_on_mixed` | `"flip"` | set for this build |' in card
    assert "| `trust_min_lower` | `0.6` | dbt_project.yml default |" in card
    assert "`pairs@v1`" in card and "may not be the build" not in card
    build.finished_at = datetime(2999, 1, 1, tzinfo=UTC).isoformat()  # a rebuild after the publish
    (dbt_dir(lake) / LAST_BUILD).write_text(json.dumps(asdict(build)))
    open_snapshot(lake, "curated", "round-2").export(tmp_path / "later")
    assert "it may not be the build this snapshot was published from" in (tmp_path / "later/README.md").read_text()
    build.round = 3
    (dbt_dir(lake) / LAST_BUILD).write_text(json.dumps(asdict(build)))
    open_snapshot(lake, "curated", "round-2").export(tmp_path / "out3")
    assert "no dbt build of round 2 (its last build is round 3)" in (tmp_path / "out3/README.md").read_text()


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
