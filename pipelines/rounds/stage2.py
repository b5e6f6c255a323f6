"""Stage 2 (method.md): gold RM on all human labels, best RM from Stage 1, score the pool with
both, send only the uncertain pairs to the judges, keep / flip by the rule in the dbt mart,
gate, publish the kept set and the flipped set.

Each queued pair carries its nearest gold pairs by ``(x, a)`` embedding
(:func:`pipelines.retrieval.anchors.gold_anchors`),
which the judges see as demonstrations, as Stage 1's retrieved pairs carry the gold pairs that
retrieved them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from lake import Lake
from lake.schemas import RETRIEVAL_QUEUE
from pipelines.retrieval.anchors import MAX_ANCHORS, gold_anchors
from pipelines.rounds.stage1 import rm_train_config
from pipelines.rounds.step import RoundContext, Step, StepFailed, StepResult
from pipelines.rounds.steps_common import Embed, Gate, Judge, llm_backend
from pipelines.rounds.steps_dbt import DbtBuild, Publish, Report

MIN_GOLD = 8


class GoldRM(Step):
    """Train the gold RM on every human-verified pair (oriented as the humans said)."""

    name, reads, writes = "gold_rm", ("pairs", "human_labels"), ("rm_runs",)

    def run(self, ctx: RoundContext) -> StepResult:
        from lake.snapshot import open_snapshot
        from rm.data import read_gold_pairs
        from rm.train import register_run, train_examples

        gold = read_gold_pairs(ctx.lake, "pairs", None, "human_labels")
        if len(gold) < MIN_GOLD:
            raise StepFailed(
                f"Stage 2 needs at least {MIN_GOLD} gold pairs to train the gold RM, found {len(gold)}: "
                "label pairs (`prefhouse label serve`) or import human labels, then re-run the round"
            )
        config = rm_train_config(ctx, "gold", "pairs", None)
        config.limit = None
        config.val_fraction = 0.2  # the gold RM's own hold-out picks its checkpoint
        snap = open_snapshot(ctx.lake, "pairs")
        result = train_examples(config, gold, None, {**snap.describe(), "gold_source": "human_labels"})
        register_run(ctx.lake, config, result, snap)
        return StepResult(
            counts={"gold_pairs": len(gold), "steps": result.steps},
            facts={"gold_run_id": result.run_id, "gold_run_dir": str(Path(result.run_dir).resolve())},
            message=f"hold-out accuracy {result.gold_accuracy}",
        )


class BestRM(Step):
    """The best RM of Stage 1: the silver run with the highest accuracy on gold."""

    name, reads, writes = "best_rm", ("rm_runs",), ()

    def run(self, ctx: RoundContext) -> StepResult:
        runs = ctx.lake.dataset("rm_runs").to_table().to_pylist()
        candidates = [r for r in runs if r["role"] in ("silver", "best") and r["gold_accuracy"] is not None]
        if not candidates:
            raise StepFailed("no Stage 1 reward model with a gold accuracy: run Stage 1 rounds first")
        best = max(candidates, key=lambda r: (r["gold_accuracy"], r["round"] or 0, r["run_id"]))
        return StepResult(
            counts={"candidates": len(candidates)},
            facts={"best_run_id": best["run_id"], "best_run_dir": best["run_dir"]},
            message=f"{best['run_id']} (gold accuracy {best['gold_accuracy']:.3f})",
        )


class ScorePool(Step):
    """Score every pair of the pool with the gold RM and the best RM (resumable, incremental)."""

    name, reads, writes = "score_pool", ("pairs",), ("rm_scores",)

    def run(self, ctx: RoundContext) -> StepResult:
        from rm import ScoreConfig
        from rm.score import score

        n = ctx.lake.dataset("pairs").count_rows()
        for key in ("gold_run_dir", "best_run_dir"):
            run_dir = ctx.fact(key)
            cfg = ScoreConfig(run=Path(run_dir), write_columns=False, max_length=ctx.config.rm_max_length)
            score(ctx.lake, run_dir, "pairs", config=cfg, progress=True)
        return StepResult(counts={"pairs": n, "runs": 2})


class EmbedForJudges(Embed):
    """Embed new or changed pairs (incremental) so that triage can give each queued pair its nearest
    gold pairs; skipped without a backend, since then nothing is queued."""

    def run(self, ctx: RoundContext) -> StepResult:
        if llm_backend(ctx) is None:
            return StepResult(status="skipped", message="no LLM backend: nothing is queued, so no demonstrations")
        return super().run(ctx)


def queue_for_judges(
    lake: Lake, round_: int, pair_ids: Iterable[str], k: int = MAX_ANCHORS, gold_p: Mapping[str, float] | None = None
) -> dict[str, int]:
    """Replace round ``round_`` of ``retrieval_queue`` with ``pair_ids``, routed to the judges, each
    with its nearest gold pairs as anchors; returns counts."""
    anchors = gold_anchors(lake, pair_ids, k, gold_p)
    now = datetime.now(UTC)
    rows = [
        {"round": round_, "pair_id": pid, "anchors": links, "best_similarity": links[0]["similarity"] if links else 0.0,
         "route": "judge", "queued_at": now}
        for pid, links in anchors.items()
    ]  # fmt: skip
    with lake.transaction(f"stage 2 triage round {round_}") as txn:
        if lake.dataset("retrieval_queue").count_rows(filter=f"round = {int(round_)}"):
            txn.delete("retrieval_queue", f"round = {int(round_)}")
        txn.append("retrieval_queue", pa.Table.from_pylist(rows, schema=RETRIEVAL_QUEUE))
    return {"queued": len(rows), "without_anchors": sum(not links for links in anchors.values())}


class Triage(Step):
    """Pairs the best RM confidently agrees with skip the judges; the rest are queued for them,
    each with its nearest gold pairs as demonstrations."""

    name, reads, writes = "triage", ("rm_scores", "human_labels"), ("retrieval_queue",)

    def run(self, ctx: RoundContext) -> StepResult:
        lake, run_id = ctx.lake, ctx.fact("best_run_id")
        scores = lake.dataset("rm_scores").to_table(columns=["pair_id", "p"], filter=f"run_id = '{run_id}'")
        p_of = dict(zip(*scores.to_pydict().values(), strict=True))
        uncertain = sorted(pid for pid, p in p_of.items() if p <= ctx.config.confident_p)
        counts = {"confident": len(p_of) - len(uncertain), "uncertain": len(uncertain)}
        if llm_backend(ctx) is None:
            return StepResult(counts=counts, message="no LLM backend: uncertain pairs are left to the RM rule")
        counts |= queue_for_judges(lake, ctx.round, uncertain, MAX_ANCHORS, p_of)
        return StepResult(counts=counts)


def stage2_steps() -> list[Step]:
    return [
        GoldRM(),
        BestRM(),
        ScorePool(),
        EmbedForJudges(),
        Triage(),
        Judge(),
        DbtBuild(),
        Gate(),
        Publish(),
        Report(),
    ]
