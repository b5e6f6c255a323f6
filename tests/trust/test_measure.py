"""Planted sources of known accuracy: the measured accuracy's interval covers the truth, and the rule decides."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from lake.rules import TrustRule
from lake.schemas import SOURCE_TRUST
from pipelines.trust.measure import annotator_rows, rm_row, trust_row
from pipelines.trust.stats import wilson


@pytest.mark.parametrize("accuracy", [0.5, 0.7, 0.9])
def test_planted_rm_accuracy_lands_in_its_interval(accuracy):
    rng = random.Random(7)
    truth = {f"p{i}": rng.choice(["chosen", "rejected"]) for i in range(2000)}
    p_of = {}
    for pid, verdict in truth.items():
        right = rng.random() < accuracy
        prefers_stored = (verdict == "chosen") == right
        p_of[pid] = 0.5 + (0.3 if prefers_stored else -0.3) * rng.random() + (1e-3 if prefers_stored else -1e-3)
    lengths = {pid: (rng.randint(1, 100), rng.randint(1, 100)) for pid in truth}
    row = rm_row(1, "planted", "best", p_of, truth, lengths, "planted")
    assert row["n"] == 2000 and row["ci_low"] < accuracy < row["ci_high"]
    assert abs(row["longer_wins_agreement"] - 0.5) < 0.05  # it ignores length
    trusted = TrustRule.default().apply(pa.Table.from_pylist([row], schema=SOURCE_TRUST))[0]
    assert trusted == (accuracy >= 0.7)


def test_length_bias_fields():
    truth = {"a": "chosen", "b": "rejected", "c": "chosen", "d": "chosen"}
    lengths = {"a": (10, 1), "b": (10, 1), "c": (1, 10), "d": (5, 5)}  # d: equal, left out of both fields
    p_of = {"a": 0.9, "b": 0.9, "c": 0.1, "d": 0.9}  # a "longer wins" model
    row = rm_row(1, "longer", "best", p_of, truth, lengths, "planted")
    assert row["longer_wins_agreement"] == 1.0
    assert row["n_longer_rejected"] == 2 and row["accuracy_longer_rejected"] == 0.0  # b and c: longer side is wrong


def test_wilson_matches_the_textbook_values():
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 0) == (None, None)


def test_rule_needs_n_lower_bound_and_unbiased_judges():
    rows = [
        trust_row(1, "rm", "few", 10, 10, "x"),  # perfect but 10 pairs
        trust_row(1, "rm", "weak", 55, 100, "x"),
        trust_row(1, "rm", "strong", 90, 100, "x"),
        trust_row(1, "judge", "biased", 90, 100, "x", first_shown_share=0.8),
        trust_row(1, "judge", "fair", 90, 100, "x", first_shown_share=0.55),
    ]
    got = TrustRule.default().apply(pa.Table.from_pylist(rows, schema=SOURCE_TRUST))
    assert got == [False, False, True, False, True]


def test_annotators_are_measured_against_the_others(lake):
    from lake.records import pair_row, pairs_table
    from pipelines.labelapp import append_labels, label_row

    rng = random.Random(3)
    pairs = [pair_row(f"q{i}?", f"good {i}", f"bad {i}", source_row=i) for i in range(300)]
    lake.append("pairs", pairs_table(pairs))
    labels = []
    for p in pairs:
        labels += [label_row(p["pair_id"], a, "chosen") for a in ("expert1", "expert2")]
        labels.append(label_row(p["pair_id"], "coin", rng.choice(["chosen", "rejected"])))
    append_labels(lake, labels)
    rows = {r["source_id"]: r for r in annotator_rows(lake, 1)}
    # an expert is measured only where the other two do not split (the coin agrees with the other expert)
    assert 100 < rows["expert1"]["n"] < 200 and rows["expert1"]["accuracy"] == 1.0
    assert rows["coin"]["n"] == 300
    coin = rows["coin"]
    assert coin["ci_low"] < 0.5 < coin["ci_high"]
    flags = TrustRule.default().apply(pa.Table.from_pylist(list(rows.values()), schema=SOURCE_TRUST))
    assert dict(zip(rows, flags, strict=True)) == {"coin": False, "expert1": True, "expert2": True}
