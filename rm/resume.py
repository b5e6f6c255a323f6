"""Continuing a distributed run from one of its sharded checkpoints (``RUN/sharded/step-N``).

The DCP checkpoint holds the model and AdamW state; the rest is replayed, since it is a pure
function of the config and the step: the lr schedule is stepped N times and the length-grouped
batch stream (the same on every rank) skips N x grad_accum micro-batches. metrics.jsonl keeps
its lines up to step N, and the best gold accuracy so far comes from its gold lines. With the
same flags and world size, the resumed curve is the uninterrupted one.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from rm.fsdp import Dist, all_gather, load_sharded


def step_of(path: Path) -> int:
    """The optimizer step of a ``sharded/step-N`` folder; fails with the fix if it is not one."""
    path = Path(path)
    if not (path / ".metadata").exists() or not path.name.startswith("step-"):
        raise FileNotFoundError(f"{path} is no sharded checkpoint: pass --resume-from RUN/sharded/step-N")
    return int(path.name.removeprefix("step-"))


def metrics_up_to(metrics_path: Path, step: int) -> tuple[list[str], tuple[float, int | None]]:
    """(metrics.jsonl lines of steps <= ``step``, (best gold accuracy, its step) among them)."""
    lines = metrics_path.read_text().splitlines() if metrics_path.exists() else []
    kept = [ln for ln in lines if json.loads(ln)["step"] <= step]
    best_acc, best_step = -1.0, None
    for row in map(json.loads, kept):
        if row["split"] == "gold" and row["accuracy"] > best_acc:  # the first of equal bests, as run_loop keeps
            best_acc, best_step = row["accuracy"], row["step"]
    return kept, (best_acc, best_step)


def resume(
    path: Path, model: Any, opt: Any, sched: Any, stream: Any, grad_accum: int, metrics_path: Path, d: Dist
) -> tuple[int, tuple[float, int | None]]:
    """Restore a run at ``path`` (collective); returns (its step, the best gold accuracy and step so far)."""
    step = step_of(path)
    load_sharded(model, opt, path)
    with warnings.catch_warnings():  # the schedule is replayed without optimizer steps, on purpose
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(step):
            sched.step()
    for _ in range(step * grad_accum):
        next(stream)
    kept, best = metrics_up_to(metrics_path, step)
    best = all_gather(best, d)[0]  # rank 0's reading for all; every rank has read before rank 0 rewrites
    if d.is_main:
        metrics_path.write_text("".join(ln + "\n" for ln in kept))
    return step, best
