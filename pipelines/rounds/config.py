"""The typed config of ``prefhouse round run``: the round's own switches and the stages' own configs.

Each stage's settings live in its config, beside the stage (``TrainConfig`` in ``rm/config.py``,
``RetrieveConfig`` in ``pipelines/retrieval/retrieve.py``, ...), with their one default. A
:func:`~lake.configargs.stage_field` holds a stage config and names the options it exposes
(``--rm-max-steps`` sets ``config.rm.max_steps``); the CLI options and the round's ``config``
record in ``round_steps`` are flat, under those names (docs/curation.md, "The round config").
Where a round departs from a stage's defaults it says so once, here (:data:`ROUND_RM`,
:func:`round_scores`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from expectations.suites import KEPT_FRACTION_TOLERANCE
from lake.configargs import stage_field
from pipelines.annotate import AttributesConfig, GateConfig, JudgeConfig, LLMConfig
from pipelines.retrieval.config import RetrieveConfig, TriageConfig
from pipelines.scale.cluster import EngineConfig
from rm.config import Preset, ScoreConfig, TrainConfig, train_config

# A round's RMs are CPU-sized: these depart from TrainConfig's defaults and hold whatever the preset
# (batch size and precision too); the rm_* options given override them, the preset fills the rest.
ROUND_RM: dict[str, Any] = {
    "max_steps": 40, "limit": 1500, "max_length": 128, "gold_limit": 300,
    "batch_size": TrainConfig.batch_size, "precision": TrainConfig.precision,
    "val_fraction": 0.1,  # used only when there is no gold yet
}  # fmt: skip


def round_rm(preset: Preset = "cpu", **given: Any) -> TrainConfig:
    """The recipe of a round's RMs: ``preset``, :data:`ROUND_RM` over it, then ``given`` (an ``lr`` or
    ``backbone`` of None: the preset's lr, the MiniLM weights)."""
    given = {k: v for k, v in given.items() if v is not None or k not in ("lr", "backbone")}
    return train_config(preset, **{**ROUND_RM, **given})


def round_scores() -> ScoreConfig:
    """How a round scores pairs: as ``prefhouse score`` does, but no rm_<run>_* columns unless asked."""
    return ScoreConfig(write_columns=False)


def _h(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass
class RoundConfig:
    """Run (or resume) one curation round."""

    round: int = field(default=1, metadata=_h("round number N; publishes curated@round-N"))
    stage: Literal[1, 2] = field(default=1, metadata=_h("1: human-in-the-loop round; 2: large-scale automatic round"))
    runs_dir: Path | None = field(
        default=None, metadata=_h("folder for reward-model run folders (default: <lake>/_runs)")
    )
    rm: TrainConfig = stage_field(
        round_rm,
        {"rm_max_steps": "max_steps", "rm_limit": "limit", "rm_max_length": "max_length",
         "rm_gold_limit": "gold_limit", "rm_batch_size": "batch_size", "rm_preset": "preset", "rm_lr": "lr",
         "rm_precision": "precision", "rm_backbone": "backbone", "seed": "seed"},
        help="reward models (rm.config.TrainConfig; a round's CPU-sized recipe: ROUND_RM)",
        build=round_rm,
    )  # fmt: skip
    rm_min_silver: int = field(
        default=64,
        metadata=_h(
            "fewest silver pairs (labels of trusted judges) the silver RM trains on; with fewer it trains on "
            "the unverified original labels and says so"
        ),
    )
    gold_rm_folds: int = field(
        default=3, metadata=_h("stage 2: folds of the gold RM's cross-fitting (every gold pair scored out of fold)")
    )
    score: ScoreConfig = stage_field(
        round_scores, {"score_columns": "write_columns"}, help="scoring (rm.config.ScoreConfig)"
    )
    retrieve: RetrieveConfig = stage_field(
        RetrieveConfig, {"k_max": "k_max", "human_share": "human_share"}, help="stage 1 retrieval (RetrieveConfig)"
    )
    triage: TriageConfig = stage_field(
        TriageConfig, {"confident_p": "confident_p"}, help="stage 2 triage (TriageConfig)"
    )
    llm: LLMConfig = stage_field(
        LLMConfig,
        {"judge_model": "model", "judge_base_url": "base_url"},
        help="the LLM endpoint of attributes, pre-check and the judge without --judges (LLMConfig)",
    )
    judges: list[str] = field(
        default_factory=list,
        metadata=_h(
            "the round's judges, each its own model and endpoint: MODEL=URL (OpenAI-compatible), URL (its first "
            "model) or vllm:PATH (offline vLLM, gpu extra); each is gated on gold, and the trusted ones' votes "
            "merge by --judge-merge (default: one judge, --judge-model on --judge-base-url)"
        )
        | {"metavar": "JUDGE"},
    )
    judge: JudgeConfig = stage_field(
        JudgeConfig,
        {"judge_merge": "merge", "judge_samples": "samples", "judge_max_demos": "max_demos", "judge_limit": "limit"},
        help="judges: votes and their merge (JudgeConfig)",
    )
    judge_gate: GateConfig = stage_field(
        GateConfig, {"judge_gold": "max_gold"}, help="the judge gate on gold (GateConfig)"
    )
    attributes: AttributesConfig = stage_field(
        AttributesConfig, {"attributes_limit": "limit"}, help="preference attributes (AttributesConfig)"
    )
    neardup: bool = field(
        default=True,
        metadata=_h("cluster near-duplicate prompts (MiniLM, cosine >= 0.9) into neighbours before the dbt build"),
    )
    precheck: bool = field(
        default=False,
        metadata=_h(
            "LLM pre-check (is each response correct?) of the objective pairs queued for humans and of objective "
            "gold, on the LLM backend; measured on gold like every source, it votes only when trusted"
        ),
    )
    gate: bool = field(default=True, metadata=_h("run the quality gate before publishing (a failure blocks publish)"))
    kept_tolerance: float = field(
        default=KEPT_FRACTION_TOLERANCE,
        metadata=_h("gate: largest allowed change of the kept fraction against the previous round"),
    )
    eval_benchmarks: list[Path] = field(
        default_factory=list,
        metadata=_h(
            "benchmark files or folders (any layout of docs/benchmarks.md; NAME=PATH names one) each RM of the "
            "round is evaluated on, into rm_eval; none: the RMs are measured on gold only"
        )
        | {"metavar": "PATH"},
    )
    eval_limit: int | None = field(
        default=None,
        metadata=_h("evaluate at most N items per benchmark file, spread over its categories") | {"metavar": "N"},
    )
    engine: EngineConfig = stage_field(
        EngineConfig,
        {"engine": "engine", "ray_address": "ray_address", "ray_cpus": "ray_cpus", "ray_actors": "ray_actors",
         "ray_actor_cpus": "ray_actor_cpus", "ray_actor_gpus": "ray_actor_gpus"},
        help="where the per-pair stages run (attributes, pre-check, judge votes, embeddings, pool scoring): "
        "this process, or Ray Data jobs on one cluster held for the round (pipelines.scale.EngineConfig)",
    )  # fmt: skip
    scope: Literal["full", "no-rm"] = field(
        default="full", metadata=_h("no-rm: skip reward-model steps (fast smoke rounds; the rule uses what exists)")
    )

    def run_dir(self, role: str, lake_root: Path) -> Path:
        base = Path(self.runs_dir) if self.runs_dir is not None else Path(lake_root) / "_runs"
        return base / f"round-{self.round}-{role}"
