"""A failing `dbt build` publishes nothing; publishing needs a passing build of that round."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pytest

from lake import Lake
from lake.records import pair_row, pairs_table
from lake.schemas import HUMAN_LABELS
from pipelines import dbt_runner
from pipelines.publish import PublishError, publish


def test_publish_needs_a_build(lake: Lake) -> None:
    lake.append("pairs", pairs_table([pair_row("Hi?", "Hello!", "Go away.")]))
    with pytest.raises(PublishError, match="no dbt build recorded"):
        publish(lake, 1)


def test_failing_build_publishes_nothing(lake: Lake) -> None:
    row = pair_row("Hi?", "Hello!", "Go away.")
    bad_label = {
        "label_id": "l1", "pair_id": row["pair_id"], "round": 1, "annotator": "a", "verdict": "maybe",
        "is_chosen_shown_first": True, "note": None, "tools": [], "origin": "app", "labeled_at": datetime.now(UTC),
    }  # fmt: skip
    with lake.transaction("bad label") as txn:
        txn.append("pairs", pairs_table([row]))
        txn.append("human_labels", pa.Table.from_pylist([bad_label], schema=HUMAN_LABELS))
    before = lake.version("curated")
    result = dbt_runner.build(lake, round=1)
    assert not result.success
    assert any("accepted_values_stg_lake__human_labels_verdict" in f for f in result.failures)
    with pytest.raises(PublishError, match="failed"):
        publish(lake, 1)
    with pytest.raises(PublishError, match="round 1, not round 2"):
        publish(lake, 2)
    assert lake.version("curated") == before
    assert "round-1" not in lake.tags("curated")


def test_sources_read_the_version_or_tag_given_in_lake_at(lake: Lake) -> None:
    lake.append("pairs", pairs_table([pair_row("Hi?", "Hello!", "Go away.")]))
    lake.tag("pairs", "before-second")
    lake.append("pairs", pairs_table([pair_row("Bye?", "Goodbye!", "Whatever.")]))
    result = dbt_runner.build(lake, round=1, vars={"lake_at": {"pairs": "before-second"}})
    assert result.success, result.failures
    assert result.versions["pairs"] == lake.dataset("pairs", "before-second").version
    con = duckdb.connect(result.duckdb_path, read_only=True)
    try:
        assert con.sql("select count(*) from curated_pairs").fetchone() == (1,)
    finally:
        con.close()
