"""KeyIndex gives what the polars joins it replaces give: anti, semi and left lookups, in the batch's order."""

from __future__ import annotations

import random

import polars as pl
import pytest

from pipelines.retrieval.keyindex import KeyIndex


@pytest.fixture
def stored() -> pl.DataFrame:
    rng = random.Random(1)
    keys = pl.DataFrame({"k": [f"{rng.getrandbits(64):016x}" for _ in range(5000)]}).unique()
    return keys.with_columns(h=pl.col("k").str.slice(0, 4), v=pl.int_range(pl.len()))


@pytest.fixture
def batch(stored: pl.DataFrame) -> pl.DataFrame:
    """Stored rows, some with a changed hash, and keys below and above every stored one."""
    absent = pl.DataFrame({"k": ["0", "zz"], "h": ["x", "y"], "v": [0, 0]}, schema=stored.schema)
    rows = pl.concat([stored.sample(300, seed=2), absent])
    changed = pl.when(pl.int_range(pl.len()) % 7 == 0).then(pl.lit("new")).otherwise(pl.col("h"))
    return rows.with_columns(h=changed).sample(fraction=1.0, shuffle=True, seed=3)


def test_anti_semi_and_lookup_equal_the_joins(stored, batch):
    index = KeyIndex(stored, "k")
    on = ["k", "h"]
    assert index.anti(batch, on).equals(batch.join(stored, on=on, how="anti", maintain_order="left"))
    assert index.semi(batch, on).equals(batch.join(stored, on=on, how="semi", maintain_order="left"))
    want = batch.select("k").join(stored.select("k", "v"), on="k", how="left", maintain_order="left")
    assert index.lookup(batch.get_column("k"), ["v"]).get_column("v").equals(want.get_column("v"))
    assert 0 < index.anti(batch, on).height < batch.height  # both outcomes occur


def test_an_empty_index_holds_nothing(stored, batch):
    index = KeyIndex(stored.clear(), "k")
    assert index.anti(batch, ["k", "h"]).equals(batch) and index.semi(batch, ["k", "h"]).is_empty()
    assert index.lookup(batch.get_column("k"), ["v"]).get_column("v").null_count() == batch.height


def test_the_key_must_come_first(stored, batch):
    with pytest.raises(ValueError, match="first column"):
        KeyIndex(stored, "k").anti(batch, ["h", "k"])
