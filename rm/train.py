"""The Bradley-Terry reward-model trainer, read top to bottom.

loss = -log sigmoid(r(x, y_w) - r(x, y_l)), logged with accuracy (r_w > r_l) and mean margin.
Plain torch: AdamW, gradient accumulation, clipping, warmup + linear decay or constant
schedule, bf16 autocast and gradient checkpointing on GPU, length-grouped batches.
Every ``eval_every`` steps the model is scored on the validation (gold) pairs and the best
checkpoint by gold accuracy is kept, as docs/method.md's Stage 1 says.

:func:`train_examples` is the core and needs no lake (the GPU test runs it on in-memory
pairs where lance is not installed); :func:`train` is the lake edge: it opens the snapshot,
reads gold, records both in the run folder and registers the run in ``rm_runs``.

Run folder: ``config.json`` (resolved config), ``snapshot.json`` (what was read),
``metrics.jsonl`` (one line per step, plus eval lines), ``checkpoint/`` (model, tokenizer,
``prefhouse_config.json``), ``result.json``.
"""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path
from typing import Any

from rm.config import TrainConfig
from rm.data import Example, encode
from rm.inference import pair_metrics, score_encoded
from rm.loop import (  # lr_lambda, disable_dropout and RunResult are re-exported: callers import them from here
    RunResult,
    add_sums,
    apply_step,
    batch_stream,
    disable_dropout,
    finish_run,
    lr_lambda,  # noqa: F401 (re-exported)
    make_optimizer,
    pair_losses,
    resolve_pairs,
    run_loop,
    save_checkpoint,
    step_row,
    write_run_files,
)
from rm.model import load_reward_model, load_tokenizer, pick_device, use_bf16

log = logging.getLogger(__name__)


def _optimizer_step(
    model: Any, opt: Any, sched: Any, stream: Any, config: TrainConfig, pad_id: int, device: str, bf16: bool
) -> dict[str, float]:
    """One optimizer step over ``grad_accum`` micro-batches; returns the step's train metrics."""
    t0 = time.perf_counter()
    sums = [0.0, 0.0, 0.0, 0.0]
    for _ in range(config.grad_accum):
        losses, margin = pair_losses(model, next(stream), pad_id, device, bf16)
        (losses.mean() / config.grad_accum).backward()
        add_sums(sums, losses, margin)
    apply_step(model, opt, sched, config.max_grad_norm)
    return step_row(sums, sched, t0)


def train_examples(
    config: TrainConfig,
    train: list[Example],
    val: list[Example] | None = None,
    snapshot: dict[str, Any] | None = None,
) -> RunResult:
    """Train on in-memory pairs; write the run folder; return what happened.

    ``val=None`` holds out ``config.val_fraction`` of ``train``; ``val=[]`` means no validation.
    """
    # ------------------------------------------------------------------ set-up
    t_start = time.perf_counter()
    train, val = resolve_pairs(config, train, val)
    run_dir, resolved, snapshot = write_run_files(config, len(train), len(val), snapshot)
    device = pick_device(config.device)
    bf16 = use_bf16(config.precision, device)
    tok = load_tokenizer(config.backbone, config.truncation_side)
    model = load_reward_model(config.backbone, tok, config.gradient_checkpointing).to(device)
    if config.disable_dropout:
        disable_dropout(model)
    train_enc, val_enc = encode(tok, train, config.max_length), encode(tok, val, config.max_length)
    # ------------------------------------------------------------- schedule
    opt, sched, total = make_optimizer(model, config, len(train_enc))
    stream = batch_stream(train_enc, config.batch_size, config.seed)
    log.info(
        "training %s on %d pairs (%d val): %d steps of %d pairs",
        config.run_id,
        len(train),
        len(val),
        total,
        config.global_batch,
    )
    model.train()
    # ------------------------------------------------------------ the loop
    pad_id = tok.pad_token_id

    def evaluate() -> dict[str, float]:
        return pair_metrics(*score_encoded(model, val_enc, pad_id, config.eval_batch_size, bf16))

    def save() -> None:
        save_checkpoint(model, tok, resolved, run_dir / "checkpoint")

    best = run_loop(
        total,
        lambda: _optimizer_step(model, opt, sched, stream, config, pad_id, device, bf16),
        evaluate if val_enc else None,
        save,
        run_dir / "metrics.jsonl",
        config.eval_every,
    )
    if not val_enc:  # no validation set: the last weights are the checkpoint
        save()
    return finish_run(config, run_dir, total, (len(train), len(val)), best, snapshot, t_start)


def read_training_data(
    config: TrainConfig, lake: Any, val_pair_ids: list[str] | None = None, select_ids: list[str] | None = None
) -> tuple[list[Example], list[Example], dict[str, Any], Any]:
    """(training pairs, validation pairs, the snapshot record, the Snapshot) of ``config`` in ``lake``.

    Validation: the gold pairs (``config.gold_*``), or, when ``val_pair_ids`` is given, those
    pairs of the gold table as stored; ``select_ids`` keeps only those gold pairs for checkpoint
    selection (the rest of gold measures the run's trust, :mod:`pipelines.trust`). No gold pair
    is ever a training pair.
    """
    from lake.labels import gold_verdicts
    from lake.snapshot import open_snapshot
    from rm.data import read_gold_pairs, read_snapshot_pairs

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
    return train_pairs, val, info, snap


def train(
    config: TrainConfig, lake: Any = None, val_pair_ids: list[str] | None = None, select_ids: list[str] | None = None
) -> RunResult:
    """Train on ``config.table`` at its tag/version in ``lake``; register the run in ``rm_runs``.

    Validation as :func:`read_training_data` says; with no gold at all, ``val_fraction`` of the
    training pairs is held out.
    """
    from lake import Lake

    lake = lake if lake is not None else Lake()
    train_pairs, val, info, snap = read_training_data(config, lake, val_pair_ids, select_ids)
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
