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
    """RM accuracy on gold per round, one line per role (silver / gold / best)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=SIZE)
    if not rows:
        _empty(ax, "reward-model evaluations")
        return _svg(fig)
    for role in sorted({r.get("role") or "rm" for r in rows}):
        pts = sorted((r["round"], r["accuracy"]) for r in rows if (r.get("role") or "rm") == role)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=role)
    ax.axhline(0.5, color=RAW, linestyle=":", linewidth=1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("round")
    ax.set_ylabel("pairwise accuracy on gold")
    ax.set_title("RM gold accuracy per round")
    ax.legend()
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


def agreement_by_category(rows: Sequence[dict[str, Any]]) -> str:
    """Share of pairs whose label the checks agreed with, per task category."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=SIZE)
    if not rows:
        _empty(ax, "agreement figures")
        return _svg(fig)
    rows = sorted(rows, key=lambda r: r["category"])
    ax.bar([r["category"] for r in rows], [r["agreement"] for r in rows], color=KEPT)
    for x, r in enumerate(rows):
        ax.text(x, r["agreement"], f"n={r['n']}", ha="center", va="bottom", fontsize=7)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("agreement")
    ax.set_title("Agreement per task category")
    ax.tick_params(axis="x", rotation=30)
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
