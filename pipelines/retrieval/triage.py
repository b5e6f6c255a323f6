"""Stage 2 triage: pairs the best RM confidently agrees with skip the judges; the uncertain rest are
queued for them in ``retrieval_queue``, each with its nearest gold pairs as anchors (the judges'
demonstrations, :func:`pipelines.retrieval.anchors.gold_anchors`), as Stage 1's retrieved pairs
carry the gold pairs that retrieved them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa

from lake import Lake
from lake.reports import Counted
from lake.schemas import RETRIEVAL_QUEUE
from lake.sql import sql_string
from pipelines.retrieval.anchors import gold_anchors
from pipelines.retrieval.config import MAX_DEMOS, TriageConfig
from pipelines.retrieval.retrieve import replace_queue_round


@dataclass
class TriageReport(Counted):
    round: int
    confident: int = 0  # pairs whose p is above confident_p
    uncertain: int = 0
    queued: int | None = None  # None: nothing was queued (no judge to queue for)
    without_anchors: int | None = None
    version: int | None = None


def uncertain_pairs(lake: Lake, config: TriageConfig) -> tuple[dict[str, float], list[str]]:
    """(p of every scored pair under ``config.run``, the pairs with p <= ``confident_p``, sorted)."""
    scores = lake.dataset("rm_scores").to_table(columns=["pair_id", "p"], filter=f"run_id = {sql_string(config.run)}")
    p_of = dict(zip(*scores.to_pydict().values(), strict=True))
    return p_of, sorted(pid for pid, p in p_of.items() if p <= config.confident_p)


def queue_for_judges(
    lake: Lake, round_: int, pair_ids: Iterable[str], k: int = MAX_DEMOS, gold_p: Mapping[str, float] | None = None
) -> tuple[int, int, int]:
    """Replace round ``round_`` of ``retrieval_queue`` with ``pair_ids``, routed to the judges, each
    with its nearest gold pairs as anchors; returns (queued, queued without anchors, version)."""
    anchors = gold_anchors(lake, pair_ids, k, gold_p)
    now = datetime.now(UTC)
    rows = [
        {"round": round_, "pair_id": pid, "anchors": links, "best_similarity": links[0]["similarity"] if links else 0.0,
         "route": "judge", "queued_at": now}
        for pid, links in anchors.items()
    ]  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=RETRIEVAL_QUEUE)
    version = replace_queue_round(lake, round_, table, f"stage 2 triage round {round_}")
    return len(rows), sum(not links for links in anchors.values()), version


def triage(lake: Lake, config: TriageConfig, queue: bool = True) -> TriageReport:
    """Split the pairs scored by ``config.run`` into confident and uncertain; with ``queue``, queue the
    uncertain ones for the judges (replacing the round's queue)."""
    p_of, uncertain = uncertain_pairs(lake, config)
    report = TriageReport(round=config.round, confident=len(p_of) - len(uncertain), uncertain=len(uncertain))
    if queue:
        report.queued, report.without_anchors, report.version = queue_for_judges(
            lake, config.round, uncertain, config.anchors, p_of
        )
    return report
