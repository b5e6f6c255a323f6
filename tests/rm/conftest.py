"""Fixtures of the reward-model tests: tiny separable pairs, one trained MiniLM run shared per session."""

from __future__ import annotations

import pytest

TOPICS = ["cats", "rivers", "bread", "stars", "chess", "music", "rain", "trains", "tea", "maps", "bees", "snow"]


def separable_pairs():
    """Pairs a model can separate perfectly: a helpful answer vs a flat refusal."""
    from rm.data import Example

    return [
        Example(
            [{"role": "user", "content": f"tell me something about {t}"}],
            f"{t} are interesting: here is a short, friendly and helpful answer about {t}.",
            "i refuse to answer that.",
            pair_id=f"sep-{i}",
        )
        for i, t in enumerate(TOPICS)
    ]


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A lake with separable pairs (half of them human-labelled gold) and a run trained on it."""
    pytest.importorskip("lance")
    from rm_helpers import add_human_labels

    from lake import Lake
    from lake.records import pair_row, pairs_table
    from rm import train, train_config

    root = tmp_path_factory.mktemp("rm")
    lake = Lake(root / "lakehouse")
    rows = [pair_row(e.conversation, e.chosen, e.rejected, source="test") for e in separable_pairs()]
    with lake.transaction("seed") as txn:
        txn.append("pairs", pairs_table(rows))
    lake.tag("pairs", "seed")
    add_human_labels(lake, [r["pair_id"] for r in rows[:4]])
    config = train_config(
        "cpu", table="pairs", tag="seed", out=root / "runs" / "sep", max_steps=12, batch_size=8, max_length=48,
        lr=1e-4, eval_every=4, seed=0,
    )  # fmt: skip
    result = train(config, lake)
    return lake, result, rows
