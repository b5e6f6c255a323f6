"""Measure every label source on gold: the numbers behind ``source_trust``.

Pure functions turn (prediction, truth) rows into one ``source_trust`` row each; the lake
readers below gather those rows for reward-model runs (from their scores, or the gold RM's
out-of-fold scores), human annotators (each against the others' majority on the same pairs)
and pre-check models. Judges are measured by :mod:`pipelines.annotate.gate`, which builds
their rows with :func:`trust_row` too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lake import Lake
from lake.labels import LABEL_COLUMNS, gold_verdicts
from lake.schemas import SOURCE_TRUST
from pipelines.trust.stats import wilson


def id_in(pair_ids: Iterable[str]) -> pc.Expression:
    """A Lance filter on ``pair_id`` membership (typed, so an empty set filters everything out)."""
    return pc.field("pair_id").isin(pa.array(sorted(set(pair_ids)), pa.string()))


def trust_row(
    round: int, kind: str, source_id: str, n_correct: int, n: int, measured_on: str, **extra: Any
) -> dict[str, Any]:
    """One ``source_trust`` row: accuracy with its 95% Wilson interval, plus any bias fields."""
    lo, hi = wilson(n_correct, n)
    row = {name: None for name in SOURCE_TRUST.names}
    row.update(
        round=round, source_kind=kind, source_id=source_id, n=n, n_correct=n_correct,
        accuracy=n_correct / n if n else None, ci_low=lo, ci_high=hi, measured_on=measured_on,
        measured_at=datetime.now(UTC),
    )  # fmt: skip
    row.update(extra)
    return row


def rm_row(
    round: int,
    run_id: str,
    role: str,
    p_of: Mapping[str, float],
    truth: Mapping[str, str],
    lengths: Mapping[str, tuple[int, int]],
    measured_on: str,
    label_basis: str | None = None,
) -> dict[str, Any]:
    """An RM measured on the gold pairs in ``p_of`` (p = sigmoid(r(chosen) - r(rejected)) of the stored pair).

    Correct when it prefers the side the humans preferred (p = 0.5 counts as wrong). Biases:
    accuracy on pairs whose longer response is the one the humans rejected, and the share of
    pairs on which the RM prefers the longer response (equal lengths left out of both).
    """
    ids = [pid for pid in p_of if pid in truth]
    correct = {pid: (p_of[pid] > 0.5 and truth[pid] == "chosen") or (p_of[pid] < 0.5 and truth[pid] == "rejected")
               for pid in ids}  # fmt: skip
    longer_rejected, prefers_longer = [], []
    for pid in ids:
        lc, lr = lengths.get(pid, (0, 0))
        if lc == lr:
            continue
        human_prefers_longer = (lc > lr) == (truth[pid] == "chosen")
        if not human_prefers_longer:
            longer_rejected.append(correct[pid])
        prefers_longer.append((p_of[pid] > 0.5) == (lc > lr))
    return trust_row(
        round, "rm", run_id, sum(correct.values()), len(ids), measured_on,
        role=role, label_basis=label_basis,
        accuracy_longer_rejected=sum(longer_rejected) / len(longer_rejected) if longer_rejected else None,
        n_longer_rejected=len(longer_rejected),
        longer_wins_agreement=sum(prefers_longer) / len(prefers_longer) if prefers_longer else None,
    )  # fmt: skip


def pair_lengths(lake: Lake, pair_ids: Iterable[str]) -> dict[str, tuple[int, int]]:
    """(len(chosen), len(rejected)) in characters of the stored pairs."""
    ids = sorted(set(pair_ids))
    if not ids:
        return {}
    t = lake.dataset("pairs").to_table(columns=["pair_id", "chosen", "rejected"], filter=id_in(ids))
    lc, lr = pc.utf8_length(t["chosen"]).to_pylist(), pc.utf8_length(t["rejected"]).to_pylist()
    return {pid: (c, r) for pid, c, r in zip(t["pair_id"].to_pylist(), lc, lr, strict=True)}


def run_scores(lake: Lake, run_id: str, pair_ids: Iterable[str]) -> dict[str, float]:
    """The latest p of each of ``pair_ids`` under ``run_id`` (pairs it never scored are absent)."""
    ids = sorted(set(pair_ids))
    if not ids:
        return {}
    filt = (pc.field("run_id") == run_id) & id_in(ids)
    t = lake.dataset("rm_scores").to_table(columns=["pair_id", "p", "scored_at"], filter=filt)
    out: dict[str, tuple[Any, float]] = {}
    for pid, p, at in zip(*(t[c].to_pylist() for c in ("pair_id", "p", "scored_at")), strict=True):
        if pid not in out or at >= out[pid][0]:
            out[pid] = (at, float(p))
    return {pid: p for pid, (_, p) in out.items()}


def measure_rm(
    lake: Lake, round: int, run_id: str, role: str, measure_ids: Iterable[str], measured_on: str,
    label_basis: str | None = None, p_of: Mapping[str, float] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """An RM run on gold pairs ``measure_ids``: from its stored scores, or from ``p_of`` (out-of-fold)."""
    truth = gold_verdicts(lake, round)
    ids = [g for g in measure_ids if g in truth]
    scores = dict(p_of) if p_of is not None else run_scores(lake, run_id, ids)
    scores = {g: scores[g] for g in ids if g in scores}
    return rm_row(round, run_id, role, scores, truth, pair_lengths(lake, scores), measured_on, label_basis)


def latest_votes(lake: Lake, round: int) -> dict[str, dict[str, str]]:
    """pair_id -> {annotator: latest verdict} up to ``round`` (discards included)."""
    t = lake.dataset("human_labels").to_table(columns=LABEL_COLUMNS, filter=pc.field("round") <= round)
    latest: dict[tuple[str, str], tuple[Any, str, str]] = {}
    for r in t.to_pylist():
        key = (r["pair_id"], r["annotator"])
        stamp = (r["labeled_at"], r["label_id"])
        if key not in latest or stamp >= latest[key][0]:
            latest[key] = (stamp, r["verdict"], r["annotator"])
    out: dict[str, dict[str, str]] = {}
    for (pid, annotator), (_, verdict, _) in latest.items():
        out.setdefault(pid, {})[annotator] = verdict
    return out


def annotator_rows(lake: Lake, round: int) -> list[dict[str, Any]]:
    """Each annotator against the strict majority of the other annotators' votes on the same pairs.

    Discards are not votes; a pair where the others split (or nobody else voted) does not
    measure the annotator. This uses raw votes only, never the gold verdict itself.
    """
    hits: dict[str, list[bool]] = {}
    for votes in latest_votes(lake, round).values():
        decided = {a: v for a, v in votes.items() if v in ("chosen", "rejected")}
        for a, v in decided.items():
            others = Counter(w for b, w in decided.items() if b != a)
            if others["chosen"] == others["rejected"]:
                continue
            hits.setdefault(a, []).append(v == others.most_common(1)[0][0])
    return [
        trust_row(round, "annotator", a, sum(h), len(h), "pairs with a strict majority among the other annotators")
        for a, h in sorted(hits.items())
    ]


def precheck_rows(lake: Lake, round: int) -> list[dict[str, Any]]:
    """Each pre-check model on the gold pairs whose two sides it judged one right and one wrong."""
    truth = gold_verdicts(lake, round)
    if not truth:
        return []
    t = lake.dataset("prechecks").to_table(
        columns=["pair_id", "side", "is_correct", "model", "checked_at"], filter=id_in(truth)
    )
    latest: dict[tuple[str, str, str], tuple[Any, bool | None]] = {}
    for r in t.to_pylist():
        key = (r["model"], r["pair_id"], r["side"])
        if key not in latest or r["checked_at"] >= latest[key][0]:
            latest[key] = (r["checked_at"], r["is_correct"])
    by_model: dict[str, list[bool]] = {}
    for model, pid in sorted({(m, p) for m, p, _ in latest}):
        c = latest.get((model, pid, "chosen"), (None, None))[1]
        r = latest.get((model, pid, "rejected"), (None, None))[1]
        if c is None or r is None or c == r:
            continue  # the pre-check takes no side on this pair
        by_model.setdefault(model, []).append(("chosen" if c else "rejected") == truth[pid])
    return [
        trust_row(round, "precheck", m, sum(h), len(h), "gold pairs where it judged one side right, one wrong")
        for m, h in sorted(by_model.items())
    ]


def write_rows(lake: Lake, rows: list[dict[str, Any]], message: str) -> int | None:
    """Upsert rows into ``source_trust`` (one row per round, kind, source and role)."""
    if not rows:
        return None
    for r in rows:
        r["role"] = r.get("role") or ""
    table = pa.Table.from_pylist(rows, schema=SOURCE_TRUST)
    with lake.transaction(message) as txn:
        version, _ = txn.upsert("source_trust", table, ["round", "source_kind", "source_id", "role"])
    return version
