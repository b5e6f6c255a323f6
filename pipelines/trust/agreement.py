"""Agreement among human annotators, on what each of them saw, with bootstrap intervals.

Votes are coded as the annotator faced them: for a source that keeps its annotators' original
votes (PandaLM: 1 / 2 / 0 over response1 / response2 / tie, in ``pairs.label_details``) the
original order with ties kept; for labels given in the app or imported from Label Studio,
the response each annotator preferred (the stored chosen or rejected side, ``tie`` for a
discard). Orienting the votes by the annotators' own majority first, as an earlier mart did,
pushes every marginal to "chosen" and kappa to about zero, whatever the annotators did.

Metrics, overall and per task category: raw agreement (the share of agreeing annotator pairs
over all items), Cohen's kappa per annotator pair (scikit-learn), Fleiss' kappa over the items
with the most common number of annotators (statsmodels), Krippendorff's alpha, nominal
(``krippendorff``); each with a 95% percentile bootstrap over items.
"""

from __future__ import annotations

import itertools
import json
import warnings
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lake import Lake
from lake.schemas import ANNOTATOR_AGREEMENT
from pipelines.trust.measure import id_in, latest_votes
from pipelines.trust.stats import bootstrap

ORIGINAL = {0: "tie", 1: "first", 2: "second"}
IDENTITY = {"chosen": "chosen", "rejected": "rejected", "discard": "tie"}
MIN_CATEGORY_PAIRS = 10  # categories with fewer multiply-labelled pairs get point values, no interval

Item = dict[str, str]  # annotator -> code, for one pair


def coded_votes(lake: Lake, round: int) -> tuple[dict[str, Item], dict[str, str]]:
    """(pair_id -> {annotator: code}, pair_id -> category) of every pair with human votes.

    Pairs whose source kept its annotators' votes are read from there (tie majorities too,
    which never become gold); a pair also labelled in the app or Label Studio is coded by
    preferred response for all its annotators, so that one pair has one coding.
    """
    votes = latest_votes(lake, round)
    origins = lake.dataset("human_labels").to_table(columns=["pair_id", "origin"], filter=pc.field("round") <= round)
    app_labelled = {p for p, o in zip(*(origins[c].to_pylist() for c in ("pair_id", "origin")), strict=True)
                    if not (o or "").startswith("import:")}  # fmt: skip
    columns = ["pair_id", "source", "category", "label_details"]
    with_votes = lake.dataset("pairs").to_table(columns=columns, filter="label_details LIKE '%\"votes\"%'")
    labelled = lake.dataset("pairs").to_table(columns=columns, filter=id_in(votes))
    items: dict[str, Item] = {}
    category: dict[str, str] = {}
    for p in with_votes.to_pylist() + labelled.to_pylist():
        pid, details = p["pair_id"], json.loads(p["label_details"] or "{}")
        category[pid] = (p["category"] or "unknown").lower()
        original, source = details.get("votes"), (p["source"] or "").split(":")[0]
        if isinstance(original, list) and pid not in app_labelled:
            items[pid] = {f"{source}:annotator{k}": ORIGINAL[int(v)] for k, v in enumerate(original, 1)
                          if int(v) in ORIGINAL}  # fmt: skip
        elif pid in votes:
            items[pid] = {a: IDENTITY[v] for a, v in votes[pid].items() if v in IDENTITY}
    return items, category


# ------------------------------------------------------------------ the metrics (pure)
def _codes(items: Sequence[Item]) -> dict[str, int]:
    return {c: i for i, c in enumerate(sorted({c for it in items for c in it.values()}))}


def raw_agreement(items: Sequence[Item]) -> float | None:
    """Agreeing annotator pairs / annotator pairs, over all items with two or more votes."""
    agree = total = 0
    for it in items:
        for a, b in itertools.combinations(sorted(it), 2):
            total += 1
            agree += it[a] == it[b]
    return agree / total if total else None


def cohen(items: Sequence[Item], a: str, b: str) -> float | None:
    from sklearn.metrics import cohen_kappa_score

    both = [(it[a], it[b]) for it in items if a in it and b in it]
    if len(both) < 2 or len({x for pair in both for x in pair}) < 2:
        return None
    x, y = zip(*both, strict=True)
    return float(cohen_kappa_score(x, y))


def fleiss(items: Sequence[Item]) -> float | None:
    """Fleiss' kappa over the items rated by the most common number of annotators."""
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    sizes = Counter(len(it) for it in items if len(it) >= 2)
    if not sizes:
        return None
    m = sizes.most_common(1)[0][0]
    codes = _codes(items)
    rows = [[codes[c] for c in it.values()] for it in items if len(it) == m]
    table, _ = aggregate_raters(np.asarray(rows), n_cat=len(codes))
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # one category only: kappa is undefined, reported as None
        value = float(fleiss_kappa(table, method="fleiss"))
    return None if np.isnan(value) else value


def alpha(items: Sequence[Item]) -> float | None:
    import krippendorff

    annotators = sorted({a for it in items for a in it})
    codes = _codes(items)
    if len(codes) < 2 or len(annotators) < 2:
        return None
    data = np.full((len(annotators), len(items)), np.nan)
    index = {a: i for i, a in enumerate(annotators)}
    for j, it in enumerate(items):
        for a, c in it.items():
            data[index[a], j] = codes[c]
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def metrics(items: Sequence[Item], resamples: int, seed: int = 0) -> list[dict[str, Any]]:
    """One row per metric (and per annotator pair for Cohen's kappa) over ``items``."""
    items = [it for it in items if len(it) >= 2]
    out = []

    def add(metric: str, fn: Any, a: str | None = None, b: str | None = None, n: int | None = None) -> None:
        value = fn(items)
        lo, hi = bootstrap(items, fn, resamples, seed) if resamples and value is not None else (None, None)
        out.append({"metric": metric, "annotator_a": a, "annotator_b": b, "n_pairs": len(items) if n is None else n,
                    "value": value, "ci_low": lo, "ci_high": hi})  # fmt: skip

    add("raw_agreement", raw_agreement)
    add("fleiss_kappa", fleiss)
    add("krippendorff_alpha", alpha)
    annotators = sorted({a for it in items for a in it})
    for a, b in itertools.combinations(annotators, 2):
        n = sum(a in it and b in it for it in items)
        add("cohen_kappa", lambda its, a=a, b=b: cohen(its, a, b), a, b, n)
    return out


def agreement_rows(lake: Lake, round: int, resamples: int = 500, top: int | None = None) -> list[dict[str, Any]]:
    """Overall and per-category agreement rows for ``annotator_agreement``."""
    items, category = coded_votes(lake, round)
    now = datetime.now(UTC)
    rows = [{"scope": "all", **m} for m in metrics(list(items.values()), resamples)]
    by_cat: dict[str, list[Item]] = {}
    for pid, it in items.items():
        by_cat.setdefault(category.get(pid, "unknown"), []).append(it)
    for cat, its in sorted(by_cat.items(), key=lambda kv: -len(kv[1]))[:top]:
        n_multi = sum(len(it) >= 2 for it in its)
        if n_multi < 2:
            continue
        for m in metrics(its, resamples // 10 if n_multi >= MIN_CATEGORY_PAIRS else 0):
            rows.append({"scope": cat, **m})
    return [{"round": round, "computed_at": now, **r} for r in rows]


def write_agreement(lake: Lake, round: int, rows: list[dict[str, Any]]) -> int | None:
    """Replace round ``round``'s rows of ``annotator_agreement``."""
    if not rows:
        return None
    table = pa.Table.from_pylist(rows, schema=ANNOTATOR_AGREEMENT)
    with lake.transaction(f"annotator agreement round {round}: {len(rows)} rows") as txn:
        return txn.replace_where("annotator_agreement", f"round = {int(round)}", table)
