"""The report's plots: matplotlib (Agg) figures rendered to inline SVG strings.

Pure functions from plain Python data to SVG text; a plot with no data still renders
(an empty frame saying so), so the report's layout never depends on what a round had.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

SIZE = (6.4, 3.2)
KEPT, DROPPED, RAW, AGREE = "#2b7a3d", "#b23b3b", "#7a7a7a", "#3b6fb2"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Text stays text (smaller files, searchable); a fixed salt makes the SVG ids reproducible.
    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "prefhouse", "font.size": 9})
    return plt


def _svg(fig: Any) -> str:
    plt = _plt()
    buf = io.StringIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg", metadata={"Date": None})  # no date: same data, same bytes
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE: inline SVG needs neither


def _empty(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} in this round yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _funnel_colour(label: str) -> str:
    if label in ("kept", "keep"):
        return KEPT
    if label in ("in", "pool"):
        return RAW
    # Evidence that agrees with the label is not a loss: show it apart from drop reasons.
    return AGREE if label.endswith("_agree") else DROPPED


def funnel(rows: Sequence[dict[str, Any]]) -> str:
    """Horizontal bars: pairs in, each drop reason, kept, flipped."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(SIZE[0], max(SIZE[1], 0.32 * len(rows) + 1)))
    if not rows:
        _empty(ax, "funnel")
        return _svg(fig)
    labels = [r["reason"] for r in rows][::-1]
    values = [r["n"] for r in rows][::-1]
    colours = [_funnel_colour(lab) for lab in labels]
    ax.barh(labels, values, color=colours)
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:,}", va="center")
    ax.set_xlabel("pairs")
    ax.set_title("Funnel by reason")
    return _svg(fig)


def accuracy_by_round(rows: Sequence[dict[str, Any]]) -> str:
    """Out-of-sample RM accuracy on gold per round with 95% intervals, one line per role (silver / best / gold)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=SIZE)
    rows = [r for r in rows if r.get("accuracy") is not None]
    if not rows:
        _empty(ax, "out-of-sample reward-model measurements")
        return _svg(fig)
    roles = sorted({r.get("role") or "rm" for r in rows})
    for i, role in enumerate(roles):
        pts = sorted((r["round"], r["accuracy"], r.get("ci_low"), r.get("ci_high")) for r in rows
                     if (r.get("role") or "rm") == role)  # fmt: skip
        x = [p[0] + (i - (len(roles) - 1) / 2) * 0.06 for p in pts]  # dodge so the intervals do not overlap
        y = [p[1] for p in pts]
        err = [[p[1] - (p[2] if p[2] is not None else p[1]) for p in pts],
               [(p[3] if p[3] is not None else p[1]) - p[1] for p in pts]]  # fmt: skip
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=role)
    ax.axhline(0.5, color=RAW, linestyle=":", linewidth=1)
    ax.set_ylim(0, 1)
    ax.set_xticks(sorted({r["round"] for r in rows}))
    ax.set_xlabel("round")
    ax.set_ylabel("accuracy on gold it never saw (95% CI)")
    ax.set_title("RM gold accuracy per round (out of sample)")
    ax.legend()
    return _svg(fig)


ROLE_ORDER = ("silver", "best", "gold")


def benchmark_accuracy_by_round(bench: Sequence[dict[str, Any]], gold: Sequence[dict[str, Any]]) -> str:
    """The per-iteration curve: one panel per RM role, x = round, the accuracy on each benchmark
    (``rm_eval``) beside the accuracy on gold the RM never saw, with its 95% interval (``source_trust``)."""
    plt = _plt()
    bench = [r for r in bench if r.get("accuracy") is not None]
    gold = [r for r in gold if r.get("accuracy") is not None]
    if not bench:
        fig, ax = plt.subplots(figsize=SIZE)
        _empty(ax, "benchmark evaluations")
        return _svg(fig)
    present = {r["role"] for r in bench} | {r.get("role") or "rm" for r in gold}
    roles = [r for r in ROLE_ORDER if r in present] + sorted(present - set(ROLE_ORDER))
    names = sorted({r["bench"] for r in bench})
    colours = {name: plt.get_cmap("tab10")(i % 10) for i, name in enumerate(names)}
    fig, axes = plt.subplots(len(roles), 1, figsize=(SIZE[0], 0.6 + 2.2 * len(roles)), sharex=True, squeeze=False)

    def dodge(k: int) -> float:  # series k of gold + benches, spread so the markers do not overlap
        return (k - len(names) / 2) * 0.06

    for ax, role in zip(axes[:, 0], roles, strict=True):
        latest = {r["round"]: r for r in gold if (r.get("role") or "rm") == role}  # the last row of each round
        if latest:
            x = sorted(latest)
            y = [latest[k]["accuracy"] for k in x]
            low = [latest[k].get("ci_low") for k in x]
            high = [latest[k].get("ci_high") for k in x]
            err = [[a - (lo if lo is not None else a) for a, lo in zip(y, low, strict=True)],
                   [(hi if hi is not None else a) - a for a, hi in zip(y, high, strict=True)]]  # fmt: skip
            ax.errorbar([k + dodge(0) for k in x], y, yerr=err, color="black", marker="s", capsize=3,
                        label="gold, out of sample (95% CI)")  # fmt: skip
        for i, name in enumerate(names):
            pts = sorted((r["round"], r["accuracy"]) for r in bench if r["role"] == role and r["bench"] == name)
            if pts:
                xs, ys = [k + dodge(i + 1) for k, _ in pts], [a for _, a in pts]
                ax.plot(xs, ys, marker="o", color=colours[name], label=name)
        ax.axhline(0.5, color=RAW, linestyle=":", linewidth=1)
        ax.set_ylim(0, 1)
        ax.set_ylabel(f"{role} RM accuracy")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    rounds = sorted({r["round"] for r in bench} | {r["round"] for r in gold if (r.get("role") or "rm") in roles})
    axes[-1, 0].set_xticks(rounds)
    axes[-1, 0].set_xlim(rounds[0] - 0.5, rounds[-1] + 0.5)  # one round: a point in the middle, not a stretched axis
    axes[-1, 0].set_xlabel("round")
    axes[0, 0].set_title("RM accuracy per round: benchmarks beside gold (out of sample)")
    return _svg(fig)


def margin_histograms(kept: Sequence[float], dropped: Sequence[float]) -> str:
    """RM margin distributions of the kept and the dropped pairs."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=SIZE)
    if not kept and not dropped:
        _empty(ax, "margins")
        return _svg(fig)
    values = [*kept, *dropped]
    lo, hi = min(values), max(values)
    bins = 30 if hi > lo else 1
    ax.hist(kept, bins=bins, range=(lo, hi), alpha=0.6, color=KEPT, label=f"kept ({len(kept)})")
    ax.hist(dropped, bins=bins, range=(lo, hi), alpha=0.6, color=DROPPED, label=f"dropped or flipped ({len(dropped)})")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("RM margin r(chosen) - r(rejected)")
    ax.set_ylabel("pairs")
    ax.set_title("Margins: kept vs dropped")
    ax.legend()
    return _svg(fig)


TOP_CATEGORIES = 12


def top_categories(rows: Sequence[dict[str, Any]], top: int = TOP_CATEGORIES) -> list[dict[str, Any]]:
    """The ``top`` largest categories by n, the rest pooled as "other (k categories)" (n-weighted)."""
    rows = sorted(rows, key=lambda r: (-r["n"], r["category"]))
    head, tail = list(rows[:top]), rows[top:]
    if tail:
        n = sum(r["n"] for r in tail)
        share = sum(r["agreement"] * r["n"] for r in tail) / n if n else 0.0
        head.append({"category": f"other ({len(tail)} categories)", "agreement": share, "n": n})
    return head


def agreement_by_category(rows: Sequence[dict[str, Any]]) -> str:
    """Share of pairs whose label no trusted check contradicted, per task category (largest first)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=SIZE)
    if not rows:
        _empty(ax, "agreement figures")
        return _svg(fig)
    rows = top_categories(rows)
    ax.barh([r["category"] for r in rows][::-1], [r["agreement"] for r in rows][::-1], color=KEPT)
    for y, r in enumerate(rows[::-1]):
        ax.text(r["agreement"], y, f" n={r['n']}", va="center", fontsize=7)
    ax.set_xlim(0, 1.15)
    ax.set_xlabel("agreement")
    ax.set_title("Agreement per task category")
    return _svg(fig)


def length_bias(curated: Sequence[float], raw: Sequence[float]) -> str:
    """log2(len chosen / len rejected) of the curated set against the raw pool."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=SIZE)
    if not curated and not raw:
        _empty(ax, "length figures")
        return _svg(fig)

    def share_longer(xs: Sequence[float]) -> str:
        return f"{sum(x > 0 for x in xs) / len(xs):.0%} chosen longer" if xs else "empty"

    values = [*curated, *raw]
    lo, hi = min(values), max(values)
    bins = 30 if hi > lo else 1
    ax.hist(raw, bins=bins, range=(lo, hi), alpha=0.5, color=RAW, density=True, label=f"raw pool ({share_longer(raw)})")
    ax.hist(
        curated,
        bins=bins,
        range=(lo, hi),
        alpha=0.6,
        color=KEPT,
        density=True,
        label=f"curated ({share_longer(curated)})",
    )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("log2(len(chosen) / len(rejected))")
    ax.set_ylabel("density")
    ax.set_title("Length bias: curated vs raw pool")
    ax.legend()
    return _svg(fig)


def round_diff(entered: dict[str, int], left: dict[str, int]) -> str:
    """Pairs that entered or left the kept set since the previous round, by reason."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=SIZE)
    if not entered and not left:
        _empty(ax, "changes against the previous round")
        return _svg(fig)
    labels = sorted(set(entered) | set(left))
    ax.barh(labels, [entered.get(k, 0) for k in labels], color=KEPT, label="entered")
    ax.barh(labels, [-left.get(k, 0) for k in labels], color=DROPPED, label="left")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("pairs (left < 0 < entered)")
    ax.set_title("Round diff by reason")
    ax.legend()
    return _svg(fig)


def log_ratio(chosen_chars: int, rejected_chars: int) -> float:
    """log2 of the length ratio, with +1 smoothing so empty sides stay finite."""
    return math.log2((chosen_chars + 1) / (rejected_chars + 1))
