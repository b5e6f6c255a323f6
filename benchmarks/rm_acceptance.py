"""Acceptance figures of the reward-model module on CPU with the MiniLM backbone.

- ``checkable``: pairs whose preference is checkable by construction
  (:mod:`pipelines.synth.checkable`), held out by source prompt; held-out accuracy (target >= 0.9),
  by kind, and by kind with the instruction cut from the prompt (a control).
- ``hh``: one epoch on the hh-rlhf helpful splits in data/ at 128 tokens, held-out accuracy
  (measured beforehand: about 54%), then that model's accuracy on LLMBar (data/llmbar).

Runs through the same code as ``prefhouse train`` (``rm.train_examples``), in memory (no lake
needed). Usage::

    .venv/bin/python benchmarks/rm_acceptance.py checkable [--n 600] [--out runs/bench-checkable]
    .venv/bin/python benchmarks/rm_acceptance.py hh [--limit 0] [--out runs/bench-hh]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from lake.offline import use_offline_env  # noqa: E402

use_offline_env()


def checkable(args: argparse.Namespace) -> dict:
    from pipelines.synth import make_checkable_pairs, without_instruction
    from rm import train_config, train_examples
    from rm.data import Example, split_holdout
    from rm.inference import load_run

    pairs = make_checkable_pairs(args.n, seed=args.seed, data_dir=REPO / "data")
    examples = [Example(p.conversation, p.chosen, p.rejected, pair_id=str(i), category=p.instruction.kind)
                for i, p in enumerate(pairs)]  # fmt: skip
    # Held out by source prompt: a source prompt and response recur with other instructions once
    # n exceeds the number of sources (about 1,860), and must not sit on both sides.
    train, val = split_holdout(examples, 0.2, args.seed, key=lambda e: repr(without_instruction(pairs[int(e.pair_id)])))
    cfg = train_config("cpu", out=args.out, max_length=args.max_length, batch_size=16, epochs=args.epochs,
                       lr=args.lr, eval_every=args.eval_every, seed=args.seed, torch_threads=args.threads,
                       backbone=args.backbone, disable_dropout=not args.keep_dropout)  # fmt: skip
    result = train_examples(cfg, train, val, {"source": "synth-checkable", "n": len(pairs)})
    model, tok, run_cfg = load_run(args.out)  # the kept (best) checkpoint; CUDA when there is one
    per_kind = heldout_by_category(model, tok, int(run_cfg["max_length"]), val)
    # Control: the same held-out pairs with the instruction cut from the prompt. What the model
    # still gets right there it gets from the responses alone (e.g. spotting the edited side).
    blind = [replace(e, conversation=without_instruction(pairs[int(e.pair_id)])) for e in val]
    per_kind_blind = heldout_by_category(model, tok, int(run_cfg["max_length"]), blind)
    return {"bench": "checkable", "n_train": result.n_train, "n_heldout": result.n_val,
            "heldout_accuracy": result.gold_accuracy, "seconds": round(result.train_seconds, 1),
            "heldout_accuracy_by_kind": per_kind,
            "heldout_accuracy_by_kind_instruction_removed": per_kind_blind}  # fmt: skip


def heldout_by_category(model, tok, max_length: int, val) -> dict:
    """Held-out accuracy per category."""
    from lake.benchmarks import BenchItem
    from rm.evaluate import evaluate_items

    items = [BenchItem("pair", e.conversation, [e.chosen, e.rejected], e.category or "all") for e in val]
    rows = evaluate_items(model, tok, items, max_length)
    return {r["subset"]: round(r["value"], 4) for r in rows if r["metric"] == "accuracy"}


def hh(args: argparse.Namespace) -> dict:
    from pipelines.ingest import RawPair, read_file
    from pipelines.ingest.registry import read_bench
    from rm import EvalConfig, train_config, train_examples
    from rm.data import Example, split_holdout
    from rm.evaluate import evaluate_items
    from rm.inference import load_run

    examples = []
    for split in ("helpful-base", "helpful-online", "helpful-rejection-sampled"):
        for r in read_file(REPO / "data" / "hh-rlhf" / split / "test.jsonl.gz", "hh-rlhf"):
            if isinstance(r, RawPair) and not r.is_tie:
                examples.append(Example(r.conversation, r.chosen, r.rejected, pair_id=f"{split}:{r.source_row}"))
    random.Random(args.seed).shuffle(examples)
    if args.limit:
        examples = examples[: args.limit]
    train, val = split_holdout(examples, 0.1, args.seed)
    cfg = train_config("cpu", out=args.out, max_length=args.max_length, batch_size=16, epochs=1.0,
                       lr=args.lr, eval_every=10**9, seed=args.seed, torch_threads=args.threads,
                       backbone=args.backbone, disable_dropout=not args.keep_dropout)  # fmt: skip
    result = train_examples(cfg, train, val, {"source": "hh-rlhf helpful splits", "n": len(examples)})
    model, tok, _ = load_run(args.out, "auto", args.threads)
    rows = evaluate_items(model, tok, read_bench(REPO / "data" / "llmbar"), args.max_length, 64)
    _ = EvalConfig  # the CLI path (prefhouse eval) runs the same evaluate_items
    llmbar = {f"{r['subset']}:{r['metric']}": round(r["value"], 4) for r in rows if r["metric"] == "accuracy"}
    return {"bench": "hh", "n_train": result.n_train, "n_heldout": result.n_val, "llmbar": llmbar,
            "heldout_accuracy": result.gold_accuracy, "seconds": round(result.train_seconds, 1)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["checkable", "hh"])
    ap.add_argument("--n", type=int, default=600, help="checkable pairs to build")
    ap.add_argument("--limit", type=int, default=0, help="hh: use at most this many pairs (0: all)")
    ap.add_argument("--epochs", type=float, default=2.0, help="checkable: epochs")
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--eval-every", type=int, default=20, help="checkable: held-out accuracy every N steps")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None)
    ap.add_argument("--backbone", default="", help="local Hugging Face model folder (default: MiniLM); "
                    "on CUDA it trains with bf16 autocast (precision auto), batch 16, no accumulation")  # fmt: skip
    ap.add_argument("--max-length", type=int, default=128, help="tokens per (conversation + response)")
    ap.add_argument("--keep-dropout", action="store_true", help="train with the backbone's dropout on "
                    "(the trainer's default sets it to 0)")  # fmt: skip
    args = ap.parse_args()
    args.out = args.out or f"runs/bench-{args.what}"
    t0 = time.time()
    report = checkable(args) if args.what == "checkable" else hh(args)
    report["wall_seconds"] = round(time.time() - t0, 1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
