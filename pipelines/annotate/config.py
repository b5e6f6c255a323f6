"""The annotation stages' configs: attributes, the judges, their gate on gold, the pre-check.

Beside their stages (each of :mod:`~pipelines.annotate.attributes`, :mod:`~pipelines.annotate.judge`,
:mod:`~pipelines.annotate.gate`, :mod:`~pipelines.annotate.precheck` imports its config from here) in a
module of their own, so that building the command line's options does not load the lake's engines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pipelines.retrieval.config import MAX_DEMOS


@dataclass
class AttributesConfig:
    """Which pairs get attributes, and how the LLM is asked."""

    limit: int | None = field(default=None, metadata={"help": "annotate at most N pairs (missing ones first)"})
    template: str = field(default="attributes.v1", metadata={"help": "prompt template version"})
    temperature: float = field(default=0.0, metadata={"help": "sampling temperature"})
    max_tokens: int = field(default=384, metadata={"help": "longest answer, in tokens"})
    max_invalid_retries: int = field(default=2, metadata={"help": "re-asks of an invalid answer before it fails"})
    max_chars: int = field(default=6000, metadata={"help": "cut each conversation to this many characters"})
    redo_failed: bool = field(default=True, metadata={"help": "ask again for pairs whose last attempt failed"})


@dataclass
class GateConfig:
    """How a judge is measured (whether it is then trusted is the dbt trust rule, docs/trust.md)."""

    max_gold: int = field(default=200, metadata={"help": "measure on at most N gold pairs (a seeded sample)"})
    gold_seed: int = field(default=0, metadata={"help": "seed of the gold sample"})


@dataclass
class JudgeConfig:
    """How the judges are asked and how their votes merge."""

    round: int | None = field(default=None, metadata={"help": "retrieval round to judge (default: the latest)"})
    samples: int = field(default=3, metadata={"help": "votes per model per pair (self-consistency)"})
    temperature: float = field(default=0.7, metadata={"help": "sampling temperature (0 when --samples 1)"})
    max_tokens: int = field(default=256, metadata={"help": "longest answer, in tokens"})
    merge: Literal["pooled", "majority", "unanimous", "any"] = field(
        default="pooled",
        metadata={
            "help": "across models, the rule the dbt build applies (var judge_merge): pooled (every valid vote; "
            "one side needs more than half); majority of model verdicts; unanimous (every model decided, all "
            "agree); any (the models that decided agree)"
        },
    )
    route: Literal["judge", "all"] = field(default="judge", metadata={"help": "queued pairs routed to judges, or all"})
    template: str = field(default="judge.v1", metadata={"help": "prompt template version"})
    demo_template: str = field(default="judge_demo.v1", metadata={"help": "demonstration template version"})
    max_demos: int = field(default=MAX_DEMOS, metadata={"help": "gold demonstrations per prompt (at most 8)"})
    max_chars: int = field(default=3000, metadata={"help": "cut each text to this many characters"})
    seed: int = field(default=0, metadata={"help": "seed of the candidate orders"})
    max_invalid_retries: int = field(default=1, metadata={"help": "re-asks of an invalid answer"})
    limit: int | None = field(default=None, metadata={"help": "judge at most N queued pairs"})


@dataclass
class PrecheckConfig:
    """Which pairs are pre-checked."""

    round: int | None = field(default=None, metadata={"help": "pre-check this round's human queue (default: latest)"})
    all_objective: bool = field(default=False, metadata={"help": "pre-check every objective pair, not only queued"})
    limit: int | None = field(default=None, metadata={"help": "pre-check at most N pairs"})
    pair_ids: list[str] | None = field(
        default=None, metadata={"help": "pre-check these pairs (those of them that are objective) instead"}
    )
    template: str = field(default="precheck.v1", metadata={"help": "prompt template version"})
    max_tokens: int = field(default=256, metadata={"help": "longest answer, in tokens"})
    max_chars: int = field(default=4000, metadata={"help": "cut each text to this many characters"})
