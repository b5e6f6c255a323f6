"""The typed config of ``prefhouse round run``: one dataclass, the CLI generated from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from expectations.suites import KEPT_FRACTION_TOLERANCE
from pipelines.retrieval.retrieve import RetrieveConfig


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
    rm_max_steps: int | None = field(default=40, metadata=_h("optimizer steps per RM training (CPU-sized)"))
    rm_limit: int | None = field(default=1500, metadata=_h("read at most this many training pairs per RM"))
    rm_max_length: int = field(default=128, metadata=_h("tokens per (conversation + response) for the RM"))
    rm_gold_limit: int | None = field(
        default=300, metadata=_h("validate each RM on at most N gold pairs (a seeded sample)")
    )
    rm_batch_size: int = field(default=16, metadata=_h("pairs per RM micro-batch"))
    rm_preset: Literal["cpu", "dev", "final"] = field(
        default="cpu", metadata=_h("RM training recipe (rm/config.py presets); the rm_* fields above override it")
    )
    rm_lr: float | None = field(default=None, metadata=_h("RM learning rate (default: the preset's)"))
    rm_precision: Literal["auto", "fp32", "bf16"] = field(
        default="auto",
        metadata=_h("RM training precision (auto: bf16 autocast where the hardware computes bf16 natively)"),
    )
    rm_backbone: str | None = field(
        default=None, metadata=_h("local Hugging Face model folder for the RMs (default: the MiniLM weights)")
    )
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
    seed: int = field(default=0, metadata=_h("seed for RM training and routing"))
    k_max: int = field(default=8, metadata=_h("adaptive retrieval: neighbours per gold pair the RM gets wrong"))
    human_share: float = field(
        default=RetrieveConfig.human_share, metadata=_h("share of retrieved pairs routed to humans")
    )
    confident_p: float = field(
        default=0.75, metadata=_h("stage 2: best-RM p above which a pair skips the judges (agrees confidently)")
    )
    judge_model: str | None = field(
        default=None, metadata=_h("LLM judge model on the OpenAI-compatible endpoint (default: $PREFHOUSE_JUDGE_MODEL)")
    )
    judge_base_url: str | None = field(
        default=None, metadata=_h("OpenAI-compatible endpoint (default: $OPENAI_BASE_URL); none: judging skipped")
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
    judge_merge: Literal["pooled", "majority", "unanimous", "any"] = field(
        default="pooled",
        metadata=_h(
            "how the trusted judges' votes merge (the dbt var judge_merge; docs/curation.md): pooled (every "
            "vote, one side needs more than judge_majority of them), majority (of the judges' own verdicts), "
            "unanimous (every judge decided, all agree), any (the judges that decided agree)"
        ),
    )
    judge_samples: int = field(default=3, metadata=_h("votes per judge model per pair (self-consistency)"))
    judge_gold: int = field(default=200, metadata=_h("measure each judge on at most N gold pairs (both orders)"))
    judge_max_demos: int = field(
        default=8, metadata=_h("gold demonstrations per judge prompt, in the gate and in votes alike (at most 8)")
    )
    judge_limit: int | None = field(default=None, metadata=_h("judge at most N queued pairs per round"))
    attributes_limit: int | None = field(
        default=None, metadata=_h("annotate at most N pairs with preference attributes per round (LLM cost)")
    )
    neardup: bool = field(
        default=True,
        metadata=_h("cluster near-duplicate prompts (MiniLM, cosine >= 0.9) into neighbours before the dbt build"),
    )
    score_columns: bool = field(
        default=False,
        metadata=_h("write the round's RM scores back to pairs as rm_<run>_* columns (a new pairs version)"),
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
    scope: Literal["full", "no-rm"] = field(
        default="full", metadata=_h("no-rm: skip reward-model steps (fast smoke rounds; the rule uses what exists)")
    )

    def run_dir(self, role: str, lake_root: Path) -> Path:
        base = Path(self.runs_dir) if self.runs_dir is not None else Path(lake_root) / "_runs"
        return base / f"round-{self.round}-{role}"
