"""The typed config of ``prefhouse ingest`` (the CLI options are generated from it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# the layouts of pipelines.ingest.registry (tests/ingest/test_registry.py checks they agree);
# the last eight are benchmark layouts, read with --as-benchmark only (rewardbench is read as flat)
FORMAT_CHOICES = (
    "auto", "hh-rlhf", "flat", "trl", "pandalm", "autoj", "llmbar", "evalbiasbench",
    "judgebench", "arena", "pku-saferlhf", "generic",
    "rewardbench", "rewardbench-v2", "rm-bench", "rmb-pairwise", "rmb-bon", "ppe-preference", "ppe-correctness", "bon",
)  # fmt: skip


@dataclass
class IngestConfig:
    """Options of ``prefhouse ingest``."""

    format: Literal[FORMAT_CHOICES] = field(  # type: ignore[valid-type]
        default="auto",
        metadata={"help": "input format or benchmark layout; auto detects from the extension and the first row's keys"},
    )
    source: str | None = field(
        default=None, metadata={"help": "source name stored with every row (default: format:folder/file)"}
    )
    as_benchmark: bool = field(
        default=False,
        metadata={
            "help": "read any benchmark layout (RewardBench 1/2, RM-Bench, RMB, PPE, JudgeBench, LLMBar, ...; "
            "docs/benchmarks.md) and write its first-turn prompts, with benchmark and item id, to benchmark_prompts "
            "(for decontamination) instead of pairs"
        },
    )
    map: str | None = field(
        default=None,
        metadata={
            "help": "column mapping for --format generic, e.g. prompt=question,chosen=good,rejected=bad "
            "(also category=COL, tie=COL)",
            "metavar": "FIELD=COL,...",
        },
    )
    label_origin: Literal["human", "model", "unknown"] | None = field(
        default=None, metadata={"help": "override who made the labels (default: per format)"}
    )
    pku_label: Literal["better", "safer"] = field(
        default="better", metadata={"help": "PKU-SafeRLHF: which preference defines chosen"}
    )
    json: bool = field(default=False, metadata={"help": "print the report as JSON"})
