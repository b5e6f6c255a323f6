"""The Bradley-Terry reward-model trainer, read top to bottom.

loss = -log sigmoid(r(x, y_w) - r(x, y_l)), logged with accuracy (r_w > r_l) and mean margin.
Plain torch: AdamW, gradient accumulation, clipping, warmup + linear decay or constant
schedule, bf16 autocast and gradient checkpointing on GPU, length-grouped batches.
Every ``eval_every`` steps the model is scored on the validation (gold) pairs and the best
checkpoint by gold accuracy is kept, as method.md's Stage 1 says.

:func:`train_examples` is the core and needs no lake (the GPU test runs it on in-memory
pairs where lance is not installed); :func:`train` is the lake edge: it opens the snapshot,
reads gold, records both in the run folder and registers the run in ``rm_runs``.

Run folder: ``config.json`` (resolved config), ``snapshot.json`` (what was read),
``metrics.jsonl`` (one line per step, plus eval lines), ``checkpoint/`` (model, tokenizer,
``prefhouse_config.json``), ``result.json``.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefhouse.configargs import config_to_dict
from rm.config import TrainConfig, default_backbone
from rm.data import Encoded, Example, collate, encode, length_grouped_batches, split_holdout
from rm.inference import pair_metrics, score_encoded
from rm.model import load_reward_model, load_tokenizer, pick_device, rewards

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


def lr_lambda(schedule: str, warmup: int, total: int):
    """Multiplier on the peak lr: linear warmup, then linear decay to 0 or constant."""

    def f(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        if schedule == "constant":
            return 1.0
        return max(0.0, (total - step) / max(1, total - warmup))

    return f


def disable_dropout(model: Any) -> int:
    """Set p = 0 on every dropout module of ``model``; returns how many there were."""
    import torch

    mods = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    for m in mods:
        m.p = 0.0
    return len(mods)


def _save_checkpoint(model: Any, tok: Any, cfg: dict[str, Any], path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path))
    tok.save_pretrained(str(path))
    (path / "prefhouse_config.json").write_text(json.dumps(cfg, indent=1))


def _optimizer_step(
    model: Any, opt: Any, sched: Any, stream: Any, config: TrainConfig, pad_id: int, device: str, bf16: bool
) -> dict[str, float]:
    """One optimizer step over ``grad_accum`` micro-batches; returns the step's train metrics."""
    import torch
    import torch.nn.functional as F

    t0 = time.perf_counter()
    tot_loss, tot_acc, tot_margin, n_pairs = 0.0, 0.0, 0.0, 0
    for _ in range(config.grad_accum):
        items: list[Encoded] = next(stream)
        ids, mask = collate(items, pad_id, device)
        r = rewards(model, ids, mask, bf16=bf16)
        margin = r[: len(items)] - r[len(items) :]  # chosen rows first, then rejected rows
        loss = -F.logsigmoid(margin).mean()
        (loss / config.grad_accum).backward()
        tot_loss += loss.item() * len(items)
        tot_acc += (margin > 0).float().sum().item()
        tot_margin += margin.sum().item()
        n_pairs += len(items)
    if config.max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)
    return {
        "loss": tot_loss / n_pairs,
        "accuracy": tot_acc / n_pairs,
        "margin": tot_margin / n_pairs,
        "lr": sched.get_last_lr()[0],
        "pairs": n_pairs,
        "pairs_per_s": n_pairs / (time.perf_counter() - t0),
    }


def _batch_stream(items: list[Encoded], batch_size: int, seed: int):
    epoch = 0
    while True:  # length-grouped, reshuffled every epoch
        for idx in length_grouped_batches(items, batch_size, seed + epoch):
            yield [items[i] for i in idx]
        epoch += 1


def _prepare(config: TrainConfig, train: list[Example], val: list[Example] | None, snapshot: dict[str, Any] | None):
    """Resolve the config, split validation if asked, and write config.json + snapshot.json."""
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
    run_dir = Path(config.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    resolved = config_to_dict(config)
    (run_dir / "config.json").write_text(json.dumps(resolved, indent=1))
    snapshot = {**(snapshot or {}), "n_train": len(train), "n_val": len(val)}
    (run_dir / "snapshot.json").write_text(json.dumps(snapshot, indent=1, default=str))
    return train, val, run_dir, resolved, snapshot


def train_examples(
    config: TrainConfig,
    train: list[Example],
    val: list[Example] | None = None,
    snapshot: dict[str, Any] | None = None,
) -> RunResult:
    """Train on in-memory pairs; write the run folder; return what happened.

    ``val=None`` holds out ``config.val_fraction`` of ``train``; ``val=[]`` means no validation.
    """
    import torch

    # ------------------------------------------------------------------ set-up
    t_start = time.perf_counter()
    train, val, run_dir, resolved, snapshot = _prepare(config, train, val, snapshot)
    device = pick_device(config.device)
    bf16 = config.precision == "bf16" or (config.precision == "auto" and device == "cuda")
    tok = load_tokenizer(config.backbone, config.truncation_side)
    model = load_reward_model(config.backbone, tok, config.gradient_checkpointing).to(device)
    if config.disable_dropout:
        disable_dropout(model)
    train_enc, val_enc = encode(tok, train, config.max_length), encode(tok, val, config.max_length)
    # ------------------------------------------------------------- schedule
    batches_per_epoch = math.ceil(len(train_enc) / config.batch_size)
    total = config.max_steps or max(1, math.ceil(config.epochs * batches_per_epoch / config.grad_accum))
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(config.schedule, int(config.warmup_ratio * total), total))
    stream = _batch_stream(train_enc, config.batch_size, config.seed)
    log.info(
        "training %s on %d pairs (%d val): %d steps of %d pairs",
        config.run_id,
        len(train),
        len(val),
        total,
        config.global_batch,
    )
    best_acc, best_step, row = -1.0, None, {"loss": math.nan}
    model.train()
    # ------------------------------------------------------------ the loop
    with open(run_dir / "metrics.jsonl", "w") as metrics:
        for step in range(1, total + 1):
            row = _optimizer_step(model, opt, sched, stream, config, tok.pad_token_id, device, bf16)
            metrics.write(json.dumps({"step": step, "split": "train", **row}) + "\n")
            if val_enc and (step % config.eval_every == 0 or step == total):  # validate on gold
                ev = pair_metrics(*score_encoded(model, val_enc, tok.pad_token_id, config.eval_batch_size, bf16))
                metrics.write(json.dumps({"step": step, "split": "gold", **ev}) + "\n")
                if ev["accuracy"] > best_acc:  # keep the best checkpoint by gold accuracy
                    best_acc, best_step = ev["accuracy"], step
                    _save_checkpoint(model, tok, resolved, run_dir / "checkpoint")
                log.info(
                    "step %d/%d: loss %.4f, gold accuracy %.3f (best %.3f at step %s)",
                    step,
                    total,
                    row["loss"],
                    ev["accuracy"],
                    best_acc,
                    best_step,
                )
            metrics.flush()
    if not val_enc:  # no validation set: the last weights are the checkpoint
        _save_checkpoint(model, tok, resolved, run_dir / "checkpoint")
    result = RunResult(
        run_id=str(config.run_id),
        run_dir=run_dir,
        steps=total,
        n_train=len(train),
        n_val=len(val),
        best_step=best_step,
        gold_accuracy=best_acc if best_step is not None else None,
        final_loss=row["loss"],
        snapshot=snapshot,
        train_seconds=time.perf_counter() - t_start,
    )
    (run_dir / "result.json").write_text(json.dumps(config_to_dict(result), indent=1, default=str))
    return result


def train(
    config: TrainConfig, lake: Any = None, val_pair_ids: list[str] | None = None, select_ids: list[str] | None = None
) -> RunResult:
    """Train on ``config.table`` at its tag/version in ``lake``; register the run in ``rm_runs``.

    Validation: the gold pairs (``config.gold_*``), or, when ``val_pair_ids`` is given, those
    pairs of the gold table as stored; ``select_ids`` keeps only those gold pairs for checkpoint
    selection (the rest of gold measures the run's trust, :mod:`pipelines.trust`); with no gold
    at all, ``val_fraction`` of the training pairs is held out. No gold pair is ever trained on.
    """
    from lake import Lake
    from lake.labels import gold_verdicts
    from lake.snapshot import open_snapshot
    from rm.data import read_gold_pairs, read_snapshot_pairs

    lake = lake if lake is not None else Lake()
    at = config.tag if config.tag is not None else config.version
    snap = open_snapshot(lake, config.table, at)
    if val_pair_ids is not None:
        wanted = set(val_pair_ids)
        val = [e for e in read_gold_pairs(lake, config.gold_table, config.gold_at, "table") if e.pair_id in wanted]
    else:
        val = read_gold_pairs(lake, config.gold_table, config.gold_at, config.gold_source)
        if select_ids is not None:  # checkpoints are selected on this part of gold only; the rest measures trust
            keep = set(select_ids)
            val = [e for e in val if e.pair_id in keep]
    held = {e.pair_id for e in val} | set(gold_verdicts(lake))  # all gold is validation or trust, never training
    train_pairs = []
    for e in read_snapshot_pairs(snap, None, config.where):  # streamed: stop at the limit
        if e.pair_id not in held:
            train_pairs.append(e)
            if config.limit is not None and len(train_pairs) >= config.limit:
                break
    if config.gold_limit is not None and len(val) > config.gold_limit:
        # each evaluation scores every validation pair: a seeded sample keeps CPU rounds affordable
        val = random.Random(config.seed).sample(sorted(val, key=lambda e: e.pair_id), config.gold_limit)
    info = {
        **snap.describe(),
        "gold_table": config.gold_table,
        "gold_at": config.gold_at,
        "gold_source": config.gold_source if val_pair_ids is None else "pair_ids",
    }
    result = train_examples(config, train_pairs, val if val else None, info)
    register_run(lake, config, result, snap)
    return result


def register_run(lake: Any, config: TrainConfig, result: RunResult, snap: Any) -> int:
    """Upsert the run's row into ``rm_runs`` (a re-run of the same run id replaces it)."""
    from datetime import UTC, datetime

    import pyarrow as pa

    from lake.schemas import RM_RUNS

    row = {
        "run_id": result.run_id,
        "run_dir": str(Path(result.run_dir).resolve()),
        "role": config.role,
        "round": config.round,
        "backbone": config.backbone,
        "train_table": snap.table,
        "train_version": snap.version,
        "train_tag": snap.tag,
        "gold_accuracy": result.gold_accuracy,
        "label_basis": config.label_basis,
        "created_at": datetime.now(UTC),
    }
    with lake.transaction(f"register rm run {result.run_id}") as txn:
        version, _ = txn.upsert("rm_runs", pa.Table.from_pylist([row], schema=RM_RUNS), on="run_id")
    return version
