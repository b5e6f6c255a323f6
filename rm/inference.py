"""Batch inference shared by training-time validation, scoring and evaluation.

``score_encoded`` runs pairs through the model in length-sorted batches (less padding) under
``torch.inference_mode`` and returns the chosen and rejected rewards in input order.
``load_run`` reopens a run folder's checkpoint with the config it was trained with.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rm.data import Encoded, collate, sorted_batches
from rm.model import load_reward_model, load_tokenizer, pick_device, rewards, use_bf16


def score_encoded(
    model: Any,
    items: Sequence[Encoded],
    pad_id: int,
    batch_size: int = 64,
    bf16: bool = False,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[list[float], list[float]]:
    """Rewards of the chosen and rejected sides of every item, in input order."""
    import torch

    device = next(model.parameters()).device
    rc = [math.nan] * len(items)
    rr = [math.nan] * len(items)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for idx in sorted_batches(items, batch_size):
            ids, mask = collate([items[i] for i in idx], pad_id, str(device))
            r = rewards(model, ids, mask, bf16=bf16).cpu().tolist()
            for j, i in enumerate(idx):
                rc[i], rr[i] = r[j], r[len(idx) + j]
            if on_batch:
                on_batch(len(idx))
    model.train(was_training)
    return rc, rr


def pair_metrics(rc: Sequence[float], rr: Sequence[float]) -> dict[str, float]:
    """Accuracy (r_c > r_r), mean BT loss and mean margin of scored pairs."""
    n = len(rc)
    if n == 0:
        return {"n": 0, "accuracy": math.nan, "loss": math.nan, "margin": math.nan}
    margins = [c - r for c, r in zip(rc, rr, strict=True)]
    # -log sigmoid(m) = softplus(-m), written stably
    loss = sum(max(-m, 0.0) + math.log1p(math.exp(-abs(m))) for m in margins) / n
    return {
        "n": n,
        "accuracy": sum(m > 0 for m in margins) / n,
        "loss": loss,
        "margin": sum(margins) / n,
    }


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def load_run(run_dir: str | Path, device: str = "auto", threads: int = 2) -> tuple[Any, Any, dict[str, Any]]:
    """(model on device, tokenizer, the run's resolved config) from a run folder."""
    import torch

    run_dir = Path(run_dir)
    ckpt = run_dir / "checkpoint"
    if not (ckpt / "config.json").exists():
        raise FileNotFoundError(f"no checkpoint in {run_dir}: train one with `prefhouse train --out {run_dir}`")
    config = json.loads((run_dir / "config.json").read_text())
    torch.set_num_threads(threads)
    tok = load_tokenizer(ckpt, config.get("truncation_side", "left"))
    model = load_reward_model(ckpt, tok).to(pick_device(device))
    model.eval()
    return model, tok, config


def run_id_of(run_dir: str | Path) -> str:
    """The run id recorded in a run folder's config.json."""
    path = Path(run_dir) / "config.json"
    if not path.exists():
        raise FileNotFoundError(f"no run in {run_dir}: train one with `prefhouse train --out {run_dir}`")
    config = json.loads(path.read_text())
    return config.get("run_id") or Path(config["out"]).name


def score_sides(
    model: Any,
    tokenizer: Any,
    sides: Sequence[tuple[list[dict[str, str]], str]],
    max_length: int,
    batch_size: int = 64,
) -> list[float]:
    """Rewards of single (conversation, response) sides, in input order (length-sorted batches)."""
    import torch

    from rm.data import encode_texts, pad_batch
    from rm.formatting import format_pair_side

    texts = [format_pair_side(tokenizer, conv, resp) for conv, resp in sides]
    ids = encode_texts(tokenizer, texts, max_length) if texts else []
    device = next(model.parameters()).device
    bf16 = use_bf16("auto", device.type)
    out = [math.nan] * len(ids)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            input_ids, mask = pad_batch([ids[i] for i in idx], tokenizer.pad_token_id, str(device))
            for i, r in zip(idx, rewards(model, input_ids, mask, bf16=bf16).cpu().tolist(), strict=True):
                out[i] = r
    return out
