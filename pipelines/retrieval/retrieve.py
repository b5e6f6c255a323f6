"""Adaptive retrieval: each gold pair pulls its k nearest unverified pairs into the queue.

k follows the reward model's confidence on the gold pair (:func:`k_for`): a gold pair the
RM gets wrong retrieves ``k_max`` neighbours, one it gets confidently right none. The
candidates exclude gold, silver and pairs queued by other rounds; a candidate found by
several gold pairs is queued once with all its anchors (best first, at most
``max_anchors``): they become the judge's demonstrations. The queue is ordered and routed
deterministically: objective, low-controversy pairs first, the first ``human_share`` of
them to humans, the rest to the LLM judges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from lake import Lake, LakeError
from lake.labels import gold_ids
from lake.reports import Counted
from lake.schemas import RETRIEVAL_QUEUE
from pipelines.retrieval import sets
from pipelines.retrieval.config import IndexSettings, RetrieveConfig
from pipelines.retrieval.embed import EMBEDDINGS, ok_attributes
from pipelines.retrieval.search import VectorIndex


@dataclass
class RetrieveReport(Counted):
    round: int
    source: str  # run:<id> or csv:<path>
    n_gold: int = 0  # anchors with a p
    n_no_embedding: int = 0  # anchors skipped: not in the embeddings table
    n_anchors: int = 0  # anchors with k > 0
    k_total: int = 0  # neighbours asked for
    n_short: int = 0  # anchors that found fewer than k eligible neighbours
    n_links: int = 0  # (anchor, candidate) links found
    n_candidates: int = 0  # distinct queued pairs
    n_human: int = 0
    n_judge: int = 0
    version: int | None = None


def categories(lake: Lake) -> dict[str, str | None]:
    """pair_id -> task category (the attribute if annotated, else the source's category)."""
    pairs = pl.from_arrow(lake.dataset("pairs").to_table(columns=["pair_id", "category"]))
    attrs = ok_attributes(lake).select("pair_id", "task_category")
    joined = pairs.join(attrs, on="pair_id", how="left")  # type: ignore[union-attr]
    cat = joined.select("pair_id", pl.coalesce("task_category", "category").alias("c"))
    return dict(cat.iter_rows())


def neighbours_of(
    index: VectorIndex, anchors: dict[str, tuple[float, int]], excluded: set[str], category: dict | None
) -> tuple[dict[str, list[tuple[str, float]]], int]:
    """Each anchor's k nearest eligible pairs; over-fetch, then fetch more for anchors left short."""
    vectors = index.vectors(list(anchors))
    pending = sorted(a for a in anchors if a in vectors)
    found: dict[str, list[tuple[str, float]]] = {}
    m = max(4 * max((k for _, k in anchors.values()), default=1), 32)
    while pending:
        hits = index.search(np.stack([vectors[a] for a in pending]), m)
        still = []
        for anchor, hs in zip(pending, hits, strict=True):
            k = anchors[anchor][1]
            want = category.get(anchor) if category is not None else None
            ok = [h for h in hs if h[0] not in excluded and (want is None or category.get(h[0]) == want)]
            found[anchor] = ok[:k]
            if len(ok) < k and m < index.n:
                still.append(anchor)
        pending, m = still, m * 4
    return found, len(anchors) - len(vectors)


def build_queue(found: dict[str, list[tuple[str, float]]], anchors: dict[str, tuple[float, int]], max_anchors: int):
    """candidate -> anchors (best first, at most ``max_anchors``)."""
    by_candidate: dict[str, list[dict]] = {}
    for anchor in sorted(found):
        p, k = anchors[anchor]
        for rank, (cand, sim) in enumerate(found[anchor], start=1):
            link = {"gold_pair_id": anchor, "rank": rank, "similarity": sim, "p": p, "k": k}
            by_candidate.setdefault(cand, []).append(link)
    return {
        cand: sorted(links, key=lambda a: (-a["similarity"], a["rank"], a["gold_pair_id"]))[:max_anchors]
        for cand, links in by_candidate.items()
    }


def route(lake: Lake, queue: dict[str, list[dict]], human_share: float) -> list[tuple[str, str]]:
    """(candidate, judge|human) in queue order: objective and low-controversy first."""
    attrs = ok_attributes(lake)
    kinds = {r[0]: (r[1], r[2]) for r in attrs.select("pair_id", "objectivity", "controversiality").iter_rows()}

    def priority(cand: str) -> tuple[int, float, str]:
        objectivity, controversy = kinds.get(cand, (None, None))
        easy = (objectivity == "objective") + (controversy == "low")
        return (2 - easy, -queue[cand][0]["similarity"], cand)

    ordered = sorted(queue, key=priority)
    n_human = int(human_share * len(ordered) + 0.5)
    return [(cand, "human" if i < n_human else "judge") for i, cand in enumerate(ordered)]


def gold_probabilities(lake: Lake, config: RetrieveConfig) -> tuple[dict[str, float], str]:
    if config.gold_probs is not None:
        return sets.probs_from_csv(Path(config.gold_probs)), f"csv:{config.gold_probs}"
    run = config.run or sets.latest_run(lake)
    return sets.probs_from_run(lake, run, gold_ids(lake)), f"run:{run}"


def retrieve(lake: Lake, config: RetrieveConfig) -> RetrieveReport:
    """Fill round ``config.round`` of ``retrieval_queue`` (replacing that round's rows)."""
    if not 0.0 <= config.human_share <= 1.0:
        raise ValueError(f"--human-share must lie in [0, 1], got {config.human_share}")
    probs, source = gold_probabilities(lake, config)
    report = RetrieveReport(round=config.round, source=source, n_gold=len(probs))
    anchors = {a: (p, sets.k_for(p, config.k_max)) for a, p in sorted(probs.items())}
    anchors = {a: pk for a, pk in anchors.items() if pk[1] > 0}
    report.n_anchors, report.k_total = len(anchors), sum(k for _, k in anchors.values())
    excluded = gold_ids(lake) | sets.silver_ids(lake) | sets.queued_ids(lake, config.round) | set(probs)
    settings = IndexSettings(config.ann_min_rows, "IVF_PQ", config.nprobes, config.refine_factor)
    if anchors and not lake.exists(EMBEDDINGS):
        raise LakeError(f"no embeddings in the lake at {lake.root}: run `prefhouse embed` first")
    found: dict[str, list[tuple[str, float]]] = {}
    if anchors:
        index = VectorIndex(lake, EMBEDDINGS, "pair_id", settings)
        category = categories(lake) if config.same_category else None
        found, report.n_no_embedding = neighbours_of(index, anchors, excluded, category)
    report.n_short = sum(len(found.get(a, [])) < k for a, (_, k) in anchors.items() if a in found)
    report.n_links = sum(len(v) for v in found.values())
    queue = build_queue(found, anchors, config.max_anchors)
    routed = route(lake, queue, config.human_share)
    report.n_candidates = len(routed)
    report.n_human = sum(r == "human" for _, r in routed)
    report.n_judge = report.n_candidates - report.n_human
    report.version = write_queue(lake, config.round, queue, routed, source)
    return report


def write_queue(lake: Lake, round_: int, queue: dict[str, list[dict]], routed: list[tuple[str, str]], source: str):
    """Replace round ``round_`` of ``retrieval_queue`` in one commit; returns the version."""
    now = datetime.now(UTC)
    rows = [
        {"round": round_, "pair_id": cand, "anchors": queue[cand], "route": r, "queued_at": now,
         "best_similarity": queue[cand][0]["similarity"]}
        for cand, r in routed
    ]  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=RETRIEVAL_QUEUE)
    return replace_queue_round(lake, round_, table, f"retrieval queue round {round_} ({source})")


def replace_queue_round(lake: Lake, round_: int, rows: pa.Table, message: str) -> int:
    """The one way a round's ``retrieval_queue`` rows are written: replaced whole, in one commit."""
    with lake.transaction(message) as txn:
        return txn.replace_where("retrieval_queue", f"round = {int(round_)}", rows)
