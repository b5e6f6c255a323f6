"""The Bradley-Terry trainer on several devices: FSDP2 under torchrun.

    python -m torch.distributed.run --nproc-per-node 2 -m rm.distributed --table curated --tag round-1 --out runs/r1

The recipe of :mod:`rm.train` (its pieces come from :mod:`rm.loop`), with three changes:

- every rank draws the same global micro-batch of ``batch_size`` pairs and trains on its
  share (:func:`rm.sharding.rank_share`), weighted so that the averaged gradient is the
  single-process gradient of the whole batch: the loss curve does not depend on the number
  of ranks (up to float reduction order); the metrics written are global (all-reduced);
- the model is sharded with FSDP2 (:func:`rm.fsdp.shard_model`), bf16 compute with fp32
  master weights, AdamW state and gradient reduction on CUDA (``--precision auto``), fp32 on CPU;
- rank 0 writes the run folder of rm.train (config.json with a ``distributed`` record,
  snapshot.json, metrics.jsonl, result.json) and the consolidated ``checkpoint/`` that
  ``load_reward_model`` / ``prefhouse score`` read; ``sharded/step-NNNNNN/`` holds DCP
  checkpoints of model and optimizer state (at the end, and every ``--save-every`` steps), from
  which ``--resume-from`` continues the run (:mod:`rm.resume`).

Validation on gold is split across ranks and gathered; the best checkpoint by gold accuracy
is kept as in rm.train. Pairs come from the lake snapshot (as ``rm.train.train`` reads them,
on every rank) or from ``--train-file`` JSONL (no lake needed, e.g. on a GPU machine).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from lake.configargs import add_config_args, config_from_args, config_to_dict
from rm.config import DistOptions, TrainConfig, train_config_from_args
from rm.data import Encoded, Example, encode, example_from_row
from rm.fsdp import Dist, all_gather, all_sum, process_group, save_consolidated, save_sharded, shard_model
from rm.inference import pair_metrics, score_encoded
from rm.loop import (
    RunResult,
    add_sums,
    apply_step,
    batch_stream,
    disable_dropout,
    finish_run,
    make_optimizer,
    pair_losses,
    resolve_pairs,
    run_loop,
    step_row,
    write_run_files,
)
from rm.model import load_reward_model, load_tokenizer, use_bf16
from rm.resume import resume
from rm.sharding import eval_shard, rank_share

log = logging.getLogger(__name__)


# ------------------------------------------------------------------ one step, one evaluation
def _step(model: Any, opt: Any, sched: Any, stream: Any, config: TrainConfig, pad_id: int, d: Dist) -> dict[str, float]:
    """One optimizer step over ``grad_accum`` global micro-batches, each split across the ranks."""
    t0 = time.perf_counter()
    sums = [0.0, 0.0, 0.0, 0.0]
    for _ in range(config.grad_accum):
        # gradients are reduce-scattered after every micro-batch (FSDP's default): skipping the sync
        # would hold unsharded gradients until the last one, the memory FSDP is there to save
        mine, weight, real = rank_share(next(stream), d.rank, d.world, config.grad_accum)
        losses, margin = pair_losses(model, mine, pad_id, d.device, False)  # precision: FSDP's policy
        (losses.sum() * weight).backward()
        if real:
            add_sums(sums, losses, margin)
    apply_step(model, opt, sched, config.max_grad_norm)
    return step_row(all_sum(sums, d), sched, t0)


def _evaluate(model: Any, val_enc: list[Encoded], pad_id: int, batch_size: int, d: Dist) -> dict[str, float]:
    """Gold metrics of the whole validation set: each rank scores its chunk, the rewards are gathered."""
    rc, rr = score_encoded(model, eval_shard(val_enc, d.rank, d.world), pad_id, batch_size)
    parts = all_gather((rc, rr), d)
    n = len(val_enc)
    return pair_metrics([x for p in parts for x in p[0]][:n], [x for p in parts for x in p[1]][:n])


# ------------------------------------------------------------------ the core
def train_distributed(
    config: TrainConfig,
    train: list[Example],
    val: list[Example] | None = None,
    snapshot: dict[str, Any] | None = None,
    opts: DistOptions | None = None,
) -> RunResult:
    """Train on in-memory pairs on every rank of the process group (created here if needed).

    ``val`` as in :func:`rm.train.train_examples`. Every rank returns the same RunResult.
    """
    with process_group(config.device) as d:
        return _train_in_group(config, train, val, snapshot, opts or DistOptions(), d)


def _train_in_group(
    config: TrainConfig,
    train: list[Example],
    val: list[Example] | None,
    snapshot: dict[str, Any] | None,
    opts: DistOptions,
    d: Dist,
) -> RunResult:
    # ------------------------------------------------------------------ set-up
    t_start = time.perf_counter()
    train, val = resolve_pairs(config, train, val)
    bf16 = use_bf16(config.precision, "cuda" if d.backend == "nccl" else "cpu")
    facts = {
        "world_size": d.world,
        "backend": d.backend,
        "sharding": "fsdp2",
        "param_dtype": "bfloat16" if bf16 else "float32",
        "master_dtype": "float32",
        "reduce_dtype": "float32",
    }
    run_dir, resolved, snapshot = write_run_files(
        config, len(train), len(val), snapshot, write=d.is_main, extra={"distributed": facts}
    )
    tok = load_tokenizer(config.backbone, config.truncation_side)
    model = load_reward_model(config.backbone, tok, config.gradient_checkpointing).to(d.device)
    if config.disable_dropout:
        disable_dropout(model)
    blocks = shard_model(model, bf16)
    train_enc, val_enc = encode(tok, train, config.max_length), encode(tok, val, config.max_length)
    # ------------------------------------------------------------- schedule
    opt, sched, total = make_optimizer(model, config, len(train_enc))  # AdamW over the fp32 shards
    stream = batch_stream(train_enc, config.batch_size, config.seed)  # the same global batches on every rank
    log.info(
        "training %s on %d pairs (%d val): %d steps of %d pairs over %d ranks (%s, %d FSDP blocks, %s compute)",
        config.run_id, len(train), len(val), total, config.global_batch, d.world, d.backend, blocks,
        facts["param_dtype"],
    )  # fmt: skip
    model.train()
    # ------------------------------------------------------------ the loop
    pad_id = tok.pad_token_id

    def save() -> None:
        save_consolidated(model, tok, resolved, run_dir / "checkpoint", d)

    def after_step(n: int) -> None:
        if n == total or (opts.save_every > 0 and n % opts.save_every == 0):
            save_sharded(model, opt, run_dir / "sharded" / f"step-{n:06d}")

    start, best_so_far = 0, (-1.0, None)
    if opts.resume_from is not None:
        start, best_so_far = resume(
            opts.resume_from, model, opt, sched, stream, config.grad_accum, run_dir / "metrics.jsonl", d
        )
        log.info("resumed at step %d of %d from %s", start, total, opts.resume_from)
    best = run_loop(
        total,
        lambda: _step(model, opt, sched, stream, config, pad_id, d),
        (lambda: _evaluate(model, val_enc, pad_id, config.eval_batch_size, d)) if val_enc else None,
        save,
        run_dir / "metrics.jsonl" if d.is_main else None,
        config.eval_every,
        after_step,
        start,
        best_so_far,
    )
    if not val_enc:  # no validation set: the last weights are the checkpoint
        save()
    return finish_run(config, run_dir, total, (len(train), len(val)), best, snapshot, t_start, write=d.is_main)


# ------------------------------------------------------------------ the edges: lake, files, CLI
def train_from_lake(
    config: TrainConfig, opts: DistOptions, lake: Any = None, val_pair_ids: list[str] | None = None
) -> RunResult:
    """``rm.train.train`` on several ranks: every rank reads the snapshot, rank 0 registers the run."""
    from lake import Lake
    from rm.train import read_training_data, register_run

    lake = lake if lake is not None else Lake(create=False)
    train, val, info, snap = read_training_data(config, lake, val_pair_ids)
    with process_group(config.device) as d:
        result = _train_in_group(config, train, val if val else None, info, opts, d)
        if d.is_main:
            register_run(lake, config, result, snap)
    return result


def read_pairs_file(path: Path) -> list[Example]:
    """Pairs from a JSONL file, one row per line in the pairs layout (conversation, chosen, rejected)."""
    with open(path) as f:
        return [example_from_row(json.loads(line)) for line in f if line.strip()]


DESCRIPTION = """\
Train a Bradley-Terry reward model on N processes with FSDP2 (one process per GPU over nccl;
gloo on CPU). --batch-size is the global micro-batch: the same pairs per step for any N, split
across the ranks, so the loss curve does not depend on N. Pairs come from the lake table
(--table/--tag/--version, gold as `prefhouse train` reads it) or from --train-file JSONL.
The run folder is `prefhouse train`'s (config.json, snapshot.json, metrics.jsonl, result.json,
checkpoint/ for `prefhouse score`) plus sharded/step-N/ (DCP model + optimizer state).
--torch-threads is per process. Without torchrun it runs as a world of one.
"""

EPILOG = """examples:
  python -m torch.distributed.run --nproc-per-node 8 -m rm.distributed --table curated --tag round-2 \\
      --out runs/r2 --preset dev --backbone /models/Qwen3-8B
  python -m torch.distributed.run --nproc-per-node 2 -m rm.distributed --train-file pairs.jsonl \\
      --val-file gold.jsonl --out runs/try --device cpu --torch-threads 1
"""


def launch(nproc: int, argv: list[str]) -> int:
    """Run this trainer on ``nproc`` local processes under torchrun (rendezvous and gloo/nccl on loopback)."""
    import socket
    import subprocess
    import sys

    with socket.socket() as s:  # a free port for the rendezvous, on loopback
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "NCCL_SOCKET_IFNAME": "lo"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc), "--master-addr",
           "127.0.0.1", "--master-port", str(port), "-m", "rm.distributed", *argv]  # fmt: skip
    return subprocess.run(cmd, env=env).returncode


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m torch.distributed.run --nproc-per-node N -m rm.distributed",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_args(p, TrainConfig)
    add_config_args(p, DistOptions)
    p.add_argument("--lake", default=None, help="lake folder (default: $PREFHOUSE_LAKE or ./lakehouse)")
    p.add_argument(
        "--gold-pair-ids", type=Path, default=None, metavar="FILE",
        help="validate on these pairs (one pair_id per line) of --gold-table instead of the human-labelled gold",
    )  # fmt: skip
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config, opts = train_config_from_args(args), config_from_args(DistOptions, args)
    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING, format=f"[rank {rank}] %(message)s")
    if opts.train_file is not None:
        val = read_pairs_file(opts.val_file) if opts.val_file is not None else None
        info = {"source": "file", "train_file": str(opts.train_file), "val_file": opts.val_file and str(opts.val_file)}
        result = train_distributed(config, read_pairs_file(opts.train_file), val, info, opts)
    else:
        from lake import Lake

        ids = None
        if args.gold_pair_ids is not None:
            ids = [ln.strip() for ln in Path(args.gold_pair_ids).read_text().splitlines() if ln.strip()]
        result = train_from_lake(config, opts, Lake(args.lake, create=False), ids)
    if rank == 0:
        print(json.dumps(config_to_dict(result), indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
