"""The training-loop pieces shared by the single-process trainer (:mod:`rm.train`) and the
distributed one (:mod:`rm.distributed`), so both run the same recipe.

Set-up (:func:`resolve_pairs`, :func:`write_run_files`), schedule (:func:`lr_lambda`,
:func:`make_optimizer`), the length-grouped batch stream, the Bradley-Terry loss of one
micro-batch, the optimizer step, and :func:`run_loop`: the step loop with gold validation
every ``eval_every`` steps and the best checkpoint by gold accuracy. A trainer passes its own
step, evaluation and save functions; in the distributed one they are collective calls that
every rank makes, and only rank 0 writes files.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lake.configargs import config_to_dict
from rm.config import TrainConfig, default_backbone
from rm.data import Encoded, Example, collate, length_grouped_batches, split_holdout
from rm.model import rewards

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    steps: int
    n_train: int
    n_val: int
    best_step: int | None
    gold_accuracy: float | None
    final_loss: float
    snapshot: dict[str, Any]
    train_seconds: float

    @property
    def counts(self) -> dict[str, int]:
        """A round step's counts of this run (lake.reports' one report shape)."""
        return {"train_pairs": self.n_train, "val_pairs": self.n_val, "steps": self.steps}


# ------------------------------------------------------------------ set-up
def resolve_pairs(
    config: TrainConfig, train: list[Example], val: list[Example] | None
) -> tuple[list[Example], list[Example]]:
    """Seed torch, fill the config's defaults (backbone, run id), split validation if asked."""
    import torch

    torch.manual_seed(config.seed)
    torch.set_num_threads(config.torch_threads)
    if not config.backbone:
        config.backbone = default_backbone()
    if config.run_id is None:
        config.run_id = config.resolved_run_id
    if val is None:
        train, val = split_holdout(train, config.val_fraction, config.seed)
    if not train:
        raise ValueError("no training pairs: check --table/--tag/--version (ties are skipped)")
    return train, val


def write_run_files(
    config: TrainConfig,
    n_train: int,
    n_val: int,
    snapshot: dict[str, Any] | None,
    write: bool = True,
    extra: dict[str, Any] | None = None,
) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """(run folder, resolved config + ``extra``, snapshot record); writes config.json + snapshot.json if ``write``."""
    run_dir = Path(config.out)
    resolved = {**config_to_dict(config), **(extra or {})}
    snapshot = {**(snapshot or {}), "n_train": n_train, "n_val": n_val}
    if write:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(resolved, indent=1))
        (run_dir / "snapshot.json").write_text(json.dumps(snapshot, indent=1, default=str))
    return run_dir, resolved, snapshot


def save_checkpoint(
    model: Any, tok: Any, cfg: dict[str, Any], path: Path, state_dict: dict[str, Any] | None = None
) -> None:
    """``save_pretrained`` + tokenizer + ``prefhouse_config.json`` (``state_dict``: weights gathered elsewhere)."""
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path), state_dict=state_dict)
    tok.save_pretrained(str(path))
    (path / "prefhouse_config.json").write_text(json.dumps(cfg, indent=1))


def disable_dropout(model: Any) -> int:
    """Set p = 0 on every dropout module of ``model``; returns how many there were."""
    import torch

    mods = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    for m in mods:
        m.p = 0.0
    return len(mods)


# ------------------------------------------------------------------ schedule
def lr_lambda(schedule: str, warmup: int, total: int) -> Callable[[int], float]:
    """Multiplier on the peak lr: linear warmup, then linear decay to 0 or constant."""

    def f(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        if schedule == "constant":
            return 1.0
        return max(0.0, (total - step) / max(1, total - warmup))

    return f


def make_optimizer(model: Any, config: TrainConfig, n_train: int) -> tuple[Any, Any, int]:
    """(AdamW, its warmup + decay schedule, the number of optimizer steps) for ``n_train`` pairs."""
    import torch

    batches_per_epoch = math.ceil(n_train / config.batch_size)
    total = config.max_steps or max(1, math.ceil(config.epochs * batches_per_epoch / config.grad_accum))
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(config.schedule, int(config.warmup_ratio * total), total))
    return opt, sched, total


def batch_stream(items: list[Encoded], batch_size: int, seed: int) -> Iterator[list[Encoded]]:
    """Length-grouped batches, reshuffled every epoch, forever (the same on every rank)."""
    epoch = 0
    while True:
        for idx in length_grouped_batches(items, batch_size, seed + epoch):
            yield [items[i] for i in idx]
        epoch += 1


# ------------------------------------------------------------------ one step
def pair_losses(model: Any, items: list[Encoded], pad_id: int, device: str, bf16: bool) -> tuple[Any, Any]:
    """Per-pair losses ``-log sigmoid(r_w - r_l)`` and margins of one micro-batch (one forward pass)."""
    import torch.nn.functional as F

    ids, mask = collate(items, pad_id, device)
    r = rewards(model, ids, mask, bf16=bf16)
    margin = r[: len(items)] - r[len(items) :]  # chosen rows first, then rejected rows
    return -F.logsigmoid(margin), margin


def add_sums(sums: list[float], losses: Any, margin: Any) -> None:
    """Add a micro-batch's (loss, correct, margin, pairs) sums to ``sums``."""
    for i, v in enumerate((losses.sum().item(), (margin > 0).float().sum().item(), margin.sum().item(), len(losses))):
        sums[i] += v


def apply_step(model: Any, opt: Any, sched: Any, max_grad_norm: float) -> None:
    """Clip, step the optimizer and the schedule, clear the gradients."""
    import torch

    if max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)


def step_row(sums: list[float], sched: Any, t0: float) -> dict[str, float]:
    """A step's metrics.jsonl row from its (loss, correct, margin, pairs) sums."""
    tot_loss, tot_acc, tot_margin, n_pairs = sums
    return {
        "loss": tot_loss / n_pairs,
        "accuracy": tot_acc / n_pairs,
        "margin": tot_margin / n_pairs,
        "lr": sched.get_last_lr()[0],
        "pairs": int(n_pairs),
        "pairs_per_s": n_pairs / (time.perf_counter() - t0),
    }


# ------------------------------------------------------------------ the loop
def run_loop(
    total: int,
    step: Callable[[], dict[str, float]],
    evaluate: Callable[[], dict[str, float]] | None,
    save: Callable[[], None],
    metrics_path: Path | None,
    eval_every: int,
    after_step: Callable[[int], None] | None = None,
    start: int = 0,
    best: tuple[float, int | None] = (-1.0, None),
) -> tuple[float, int | None, dict[str, float]]:
    """Run steps ``start + 1`` to ``total``; validate every ``eval_every`` steps and at the end;
    ``save`` each new best.

    ``metrics_path=None`` writes no metrics (the other ranks of a distributed run); a resumed run
    (``start > 0``, ``best`` = the best gold accuracy and step so far) appends to it. Returns
    (best gold accuracy, its step or None, the last train row).
    """
    (best_acc, best_step), row = best, {"loss": math.nan}
    mode = "a" if start else "w"
    with open(metrics_path, mode) if metrics_path is not None else nullcontext() as metrics:

        def write(line: dict[str, Any]) -> None:
            if metrics is not None:
                metrics.write(json.dumps(line) + "\n")
                metrics.flush()

        for n in range(start + 1, total + 1):
            row = step()
            write({"step": n, "split": "train", **row})
            if evaluate is not None and (n % eval_every == 0 or n == total):  # validate on gold
                ev = evaluate()
                write({"step": n, "split": "gold", **ev})
                if ev["accuracy"] > best_acc:  # keep the best checkpoint by gold accuracy
                    best_acc, best_step = ev["accuracy"], n
                    save()
                log.info(
                    "step %d/%d: loss %.4f, gold accuracy %.3f (best %.3f at step %s)",
                    n, total, row["loss"], ev["accuracy"], best_acc, best_step,
                )  # fmt: skip
            if after_step is not None:
                after_step(n)
    return best_acc, best_step, row


def finish_run(
    config: TrainConfig,
    run_dir: Path,
    total: int,
    counts: tuple[int, int],
    best: tuple[float, int | None, dict[str, float]],
    snapshot: dict[str, Any],
    t_start: float,
    write: bool = True,
) -> RunResult:
    """The RunResult from ``counts`` (train, val pairs) and ``best`` (what run_loop returned).

    Writes result.json if ``write``.
    """
    best_acc, best_step, row = best
    result = RunResult(
        run_id=str(config.run_id),
        run_dir=run_dir,
        steps=total,
        n_train=counts[0],
        n_val=counts[1],
        best_step=best_step,
        gold_accuracy=best_acc if best_step is not None else None,
        final_loss=row["loss"],
        snapshot=snapshot,
        train_seconds=time.perf_counter() - t_start,
    )
    if write:
        (run_dir / "result.json").write_text(json.dumps(config_to_dict(result), indent=1, default=str))
    return result
