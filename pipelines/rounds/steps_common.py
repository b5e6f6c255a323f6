"""Steps both stages share: attributes, embeddings, near-duplicates, judging, pre-check, labels, trust,
quality gate.

Each step wraps one stage's call (annotation, retrieval, trust, the gate) and records its report's
``counts`` (:mod:`lake.reports`) and the facts later steps need; heavy imports happen inside ``run``.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from typing import Any

from pipelines.rounds.engine import call_runner, embed
from pipelines.rounds.step import GateBlocked, RoundContext, Step, StepResult

NO_BACKEND = "no LLM backend configured (set OPENAI_BASE_URL or --judge-base-url): LLM work skipped"


def _endpoint(ctx: RoundContext) -> str | None:
    """The round's one OpenAI-compatible endpoint: ``--judge-base-url``, else ``$OPENAI_BASE_URL``."""
    return ctx.config.llm.base_url or os.environ.get("OPENAI_BASE_URL")


def llm_backend(ctx: RoundContext) -> Any | None:
    """The configured OpenAI-compatible judge backend, or None when there is none."""
    base_url = _endpoint(ctx)
    if not base_url:
        return None
    from pipelines.annotate import make_backend

    return make_backend(replace(ctx.config.llm, base_url=base_url))


def has_judges(ctx: RoundContext) -> bool:
    """Whether the round has any judge configured (without contacting it)."""
    return bool(ctx.config.judges or _endpoint(ctx))


def judge_backends(ctx: RoundContext) -> list[Any]:
    """The round's judges: one backend per ``--judges`` entry (its own model and endpoint), else the LLM backend."""
    specs = list(ctx.config.judges)
    if not specs:
        backend = llm_backend(ctx)
        return [backend] if backend is not None else []
    from pipelines.annotate import make_backend
    from pipelines.annotate.llm.base import parse_judge

    return [make_backend(parse_judge(spec)) for spec in specs]


class Trust(Step):
    """Measure every label source of the round on gold it never trained on or was selected on.

    Stage 1 measures the silver RM, Stage 2 the best RM (the gold RM's cross-fitted row is
    written by its own step); annotators, pre-check models and judges (from their gate) too.
    The dbt build then lets only trusted sources keep, drop or flip a pair.
    """

    name, reads, writes = "trust", ("human_labels", "rm_scores", "prechecks"), ("source_trust", "annotator_agreement")

    def run(self, ctx: RoundContext) -> StepResult:
        from pipelines.trust import measure_round

        rms = {role: ctx.fact(f"{role}_run_id") for role in ("silver", "best") if ctx.fact(f"{role}_run_id")}
        report = measure_round(ctx.lake, ctx.round, rms)
        facts = {"trusted_sources": report.trusted, "trust_summary": report.message()}
        return StepResult(counts=report.counts, facts=facts, message=report.message())


class Attributes(Step):
    """Preference attributes for pairs that have none yet (LLM); skipped without a backend."""

    name, reads, writes = "attributes", ("pairs",), ("attributes",)

    def run(self, ctx: RoundContext) -> StepResult:
        backend = llm_backend(ctx)
        if backend is None:
            return StepResult(status="skipped", message=NO_BACKEND)
        from pipelines.annotate import annotate_attributes

        report = annotate_attributes(ctx.lake, backend, ctx.config.attributes, call_runner(ctx))
        return StepResult(counts=report.counts)


class Embed(Step):
    """Embed new or changed pairs (incremental); the vectors retrieval searches."""

    name, reads, writes = "embed", ("pairs", "attributes"), ()

    def run(self, ctx: RoundContext) -> StepResult:
        return StepResult(counts=embed(ctx).counts)


class Judge(Step):
    """LLM judges on the round's judge-routed queue, gated on gold; skipped without a backend."""

    name, reads, writes = "judge", ("retrieval_queue", "human_labels"), ("judge_labels", "judge_gates")

    def run(self, ctx: RoundContext) -> StepResult:
        backends = judge_backends(ctx)
        if not backends:
            return StepResult(status="skipped", message=NO_BACKEND + "; the rule falls back to the RM agreement")
        if not ctx.lake.dataset("retrieval_queue").count_rows(filter=f"round = {ctx.round}"):
            return StepResult(status="skipped", message=f"nothing queued in round {ctx.round}")
        from pipelines.annotate import judge_queue

        judge_cfg = replace(ctx.config.judge, round=ctx.round)
        report = judge_queue(ctx.lake, backends, judge_cfg, ctx.config.judge_gate, call_runner(ctx))
        counts = report.counts | {"judges": len(backends)}
        facts = {"judges": [b.model for b in backends], "trusted_judges": report.trusted_models}
        facts["judge_merge"] = report.merge
        return StepResult(counts=counts, facts=facts, message=report.message)


class NearDup(Step):
    """Cluster near-duplicate prompts (MiniLM embeddings, cosine threshold) into ``neighbours``, which the
    dbt build's near-duplicate filter reads; ``--no-neardup`` skips it."""

    name, reads, writes = "neardup", ("pairs",), ("neighbours",)

    def run(self, ctx: RoundContext) -> StepResult:
        if not ctx.config.neardup:
            return StepResult(status="skipped", message="--no-neardup: neighbours left as they are")
        from pipelines.retrieval import find_near_duplicates

        return StepResult(counts=find_near_duplicates(ctx.lake).counts)


class Precheck(Step):
    """LLM pre-check of objective pairs (the human queue's and gold's, so it can be measured); a hint to
    annotators, and a vote in the dbt rule only once Trust measured it trusted. Off unless ``--precheck``."""

    name, reads, writes = "precheck", ("attributes", "retrieval_queue", "human_labels"), ("prechecks",)

    def run(self, ctx: RoundContext) -> StepResult:
        if not ctx.config.precheck:
            return StepResult(status="skipped", message="pre-check off (--precheck turns it on)")
        backend = llm_backend(ctx)
        if backend is None:
            return StepResult(status="skipped", message=NO_BACKEND)
        from pipelines.annotate.precheck import precheck_round

        report = precheck_round(ctx.lake, backend, ctx.round, call_runner(ctx))
        return StepResult(counts=report.counts, facts={"precheck_model": report.model})


class TakeLabels(Step):
    """Take in the human labels that exist (app or import): count gold and the open human queue."""

    name, reads, writes = "labels", ("human_labels", "retrieval_queue"), ()

    def run(self, ctx: RoundContext) -> StepResult:
        from pipelines.labelapp.queue import label_state

        state = label_state(ctx.lake, ctx.round)
        return StepResult(counts=state.counts, message=state.message())


def previous_kept_fraction(ctx: RoundContext) -> float | None:
    """The kept fraction the latest earlier round of the same stage published (from its step record).

    Stages apply different rules (Stage 2 flips what Stage 1 keeps), so a Stage-2 round is
    bounded by the previous Stage-2 round, not by the last Stage-1 one.
    """
    from lake.round_steps import step_records

    for row in reversed(step_records(ctx.lake, stage=ctx.stage)):
        if row["round"] < ctx.round and row["step"] == "publish" and row["status"] == "done":
            return json.loads(row["facts"] or "{}").get("kept_fraction")
    return None


class Gate(Step):
    """The Great Expectations checkpoint over the lake, this round's mart and the very kept and flipped
    sets the round would publish; a failure blocks publish and the previous tag stays."""

    name, reads, writes = "gate", ("pairs", "attributes", "human_labels", "judge_labels", "rm_scores"), ()

    def run(self, ctx: RoundContext) -> StepResult:
        if not ctx.config.gate:
            return StepResult(status="skipped", message="gate turned off (--no-gate)")
        from expectations import run_gate
        from expectations.frames import mart_frame, pool_pass_rate, published_frame, raw_longer_share
        from pipelines.annotate.taxonomy import TASK_CATEGORIES

        extra, baseline = {}, previous_kept_fraction(ctx)
        db = ctx.fact("dbt_database")
        if db:
            from pipelines.publish import publishable

            extra["curated_pairs"] = mart_frame(db, ctx.round)
            tables, _ = publishable(ctx.lake, ctx.round)
            extra["curated"], extra["flipped"] = (published_frame(tables[t]) for t in ("curated", "flipped"))
            if baseline is None:  # a first round of its stage: bounded by the share of the pool no filter drops
                baseline = pool_pass_rate(db, ctx.round)
        result = run_gate(
            ctx.lake,
            f"round-{ctx.round}",
            extra_frames=extra,
            previous_kept_fraction=baseline,
            taxonomy=list(TASK_CATEGORIES),
            kept_tolerance=ctx.config.kept_tolerance,
            raw_longer_share=raw_longer_share(ctx.lake),
        )
        if not result.passed:
            raise GateBlocked(result.summary() + f"\nresults: {result.html_path}")
        return StepResult(counts=result.counts, facts={"gate_html": result.html_path, "gate_json": result.json_path})
