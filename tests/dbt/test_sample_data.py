"""`prefhouse dbt build --publish` on sample data shipped in the repo, ingested for real."""

from __future__ import annotations

from pathlib import Path

import duckdb

from lake import Lake
from pipelines import dbt_runner
from pipelines.ingest import ingest_paths
from prefhouse.cli import main

DATA = Path(__file__).resolve().parents[2] / "data"


def test_sample_data_builds_and_publishes(lake: Lake, capsys) -> None:
    ingest_paths(lake, [DATA / "hh-rlhf" / "helpful-base" / "test.jsonl.gz"])
    ingest_paths(lake, [DATA / "llmbar" / "LLMBar" / "Natural"])
    ingest_paths(lake, [DATA / "evalbiasbench" / "biasbench.json"], as_benchmark=True)
    n_pairs = lake.dataset("pairs").count_rows()

    assert main(["--lake", str(lake.root), "dbt", "build", "--round", "1", "--publish"]) == 0
    assert "published round-1" in capsys.readouterr().out

    con = duckdb.connect(str(dbt_runner.duckdb_path(lake)), read_only=True)
    try:
        decided = dict(con.sql("select decision, count(*) from curated_pairs group by 1").fetchall())
    finally:
        con.close()
    assert sum(decided.values()) == n_pairs
    assert lake.dataset("curated", "round-1").count_rows() == decided["keep"] > 0
