"""Throughput of the reward-model module against bare torch on the same model and batches.

In one run, on the same MiniLM model and the same length-grouped batches of real hh-rlhf
pairs (data/):

- training: ``rm.train_examples`` (its loop's pairs/s from metrics.jsonl, and end to end
  with loading, tokenising and the checkpoint) vs a bare loop of forward + backward + AdamW
  step over the same pre-collated tensors;
- scoring: ``rm.score`` into a temporary lake (Lance read, tokenise, forward, rm_scores and
  the score columns written) and the in-memory ``score_encoded`` vs a bare
  ``torch.inference_mode`` forward over the same batches.

Target: the module reaches >= 0.85x of bare. Bare runs twice (before and after the module)
and the mean is used, which evens out machine load.

TRL as a peer (section ``trl``): ``prefhouse train`` and TRL's ``RewardTrainer`` on the same
MiniLM, the same pairs, batch size, max length, learning rate, schedule and step count, one
after the other in one run; pairs/s of each (the training loop, and end to end with loading
and tokenising) and the held-out accuracy of each. TRL reads prefhouse's ``text`` export of the
pairs (``lake.export``) as it is, through ``datasets``; MiniLM has no chat template and no EOS
token, so TRL is given ``eos_token=[SEP]`` and appends it (one token more than prefhouse's
input). TRL drops pairs longer than ``max_length`` where prefhouse truncates, so only pairs
whose both sides fit in ``max_length - 1`` tokens are used, and the run checks TRL kept them
all. Four runs: prefhouse with its defaults (``--precision auto``: bf16 autocast where the
CPU computes bf16 natively, AVX512-BF16 or AMX, else fp32), TRL with its defaults (bf16
autocast, gradient checkpointing), TRL in fp32 without checkpointing, and prefhouse in fp32.
Batching differs by design: prefhouse groups batches by length, TRL samples at random.
Held-out accuracy: each model scores the held-out pairs (as its own trainer tokenises them)
in fp32 with the same forward pass (``rm.inference.score_encoded``).

Usage::

    .venv/bin/python benchmarks/rm.py [--sections train,score] [--pairs 256] [--batch 16]
        [--max-length 128] [--threads 2]
    .venv/bin/python benchmarks/rm.py --sections trl --pairs 640 --batch 16 --max-length 128 \\
        --steps 40 --heldout 256 --threads 2
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from lake.offline import use_offline_env  # noqa: E402

use_offline_env()


def hh_examples(n: int):
    from pipelines.ingest import RawPair, read_file
    from rm.data import Example

    out = []
    for r in read_file(REPO / "data" / "hh-rlhf" / "helpful-base" / "test.jsonl.gz", "hh-rlhf"):
        if isinstance(r, RawPair) and not r.is_tie:
            out.append(Example(r.conversation, r.chosen, r.rejected, pair_id=f"hh-{r.source_row}"))
        if len(out) >= n:
            break
    return out


def bare_train(backbone: str, batches, pad_id: int, lr: float) -> float:
    """Pairs/s of forward + backward + AdamW over pre-collated (ids, mask, n_pairs) batches."""
    import torch
    import torch.nn.functional as F
    from transformers import AutoModelForSequenceClassification

    from rm.train import disable_dropout

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(backbone, num_labels=1)
    model.config.pad_token_id = pad_id
    model.train()
    disable_dropout(model)  # as the module trains by default (TrainConfig.disable_dropout)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    t0, n = time.perf_counter(), 0
    for ids, mask, k in batches:
        r = model(input_ids=ids, attention_mask=mask).logits.squeeze(-1)
        loss = -F.logsigmoid(r[:k] - r[k:]).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        n += k
    return n / (time.perf_counter() - t0)


def bare_score(model, batches) -> float:
    import torch

    model.eval()
    t0, n = time.perf_counter(), 0
    with torch.inference_mode():
        for ids, mask, k in batches:
            model(input_ids=ids, attention_mask=mask)
            n += k
    return n / (time.perf_counter() - t0)


def bench_train(args, examples, tok, backbone):
    from rm import train_config, train_examples
    from rm.data import collate, encode, length_grouped_batches

    enc = encode(tok, examples, args.max_length)
    steps = len(enc) // args.batch
    batches = [[enc[i] for i in idx] for idx in length_grouped_batches(enc, args.batch, 0)][:steps]
    tensors = [(*collate(b, tok.pad_token_id), len(b)) for b in batches]
    bare1 = bare_train(backbone, tensors, tok.pad_token_id, 5e-5)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = train_config(
            "cpu", out=Path(tmp) / "run", backbone=backbone, max_length=args.max_length, batch_size=args.batch,
            max_steps=steps, torch_threads=args.threads, warmup_ratio=0.0,
        )  # fmt: skip
        t0 = time.perf_counter()
        train_examples(cfg, examples, [], {"source": "bench"})
        e2e = len(batches) * args.batch / (time.perf_counter() - t0)
        rows = [json.loads(ln) for ln in (Path(tmp) / "run" / "metrics.jsonl").read_text().splitlines()]
    loop = sum(r["pairs"] for r in rows) / sum(r["pairs"] / r["pairs_per_s"] for r in rows)
    bare2 = bare_train(backbone, tensors, tok.pad_token_id, 5e-5)
    bare = (bare1 + bare2) / 2
    return {"bare_pairs_per_s": round(bare, 2), "module_loop_pairs_per_s": round(loop, 2),
            "module_end_to_end_pairs_per_s": round(e2e, 2), "ratio_loop": round(loop / bare, 3),
            "ratio_end_to_end": round(e2e / bare, 3), "bare_runs": [round(bare1, 2), round(bare2, 2)]}  # fmt: skip


def bench_score(args, examples, run_dir):
    from lake import Lake
    from lake.records import pair_row, pairs_table
    from rm.config import ScoreConfig
    from rm.data import collate, encode, sorted_batches
    from rm.inference import load_run, score_encoded
    from rm.score import score

    model, tok, _ = load_run(run_dir, "cpu", args.threads)
    enc = encode(tok, examples, args.max_length)
    tensors = [(*collate([enc[i] for i in idx], tok.pad_token_id), len(idx)) for idx in sorted_batches(enc, 64)]
    bare1 = bare_score(model, tensors)
    t0 = time.perf_counter()
    score_encoded(model, enc, tok.pad_token_id, 64)
    in_memory = len(enc) / (time.perf_counter() - t0)
    with tempfile.TemporaryDirectory() as tmp:
        lake = Lake(Path(tmp) / "lake")
        lake.append("pairs", pairs_table(pair_row(e.conversation, e.chosen, e.rejected) for e in examples))
        t0 = time.perf_counter()
        score(lake, run_dir, "pairs", config=ScoreConfig(run=run_dir, max_length=args.max_length, batch_size=64))
        lake_e2e = len(examples) / (time.perf_counter() - t0)
    bare2 = bare_score(model, tensors)
    bare = (bare1 + bare2) / 2
    return {
        "bare_pairs_per_s": round(bare, 2), "module_in_memory_pairs_per_s": round(in_memory, 2),
        "module_lake_end_to_end_pairs_per_s": round(lake_e2e, 2), "ratio_in_memory": round(in_memory / bare, 3),
        "ratio_lake_end_to_end": round(lake_e2e / bare, 3), "bare_runs": [round(bare1, 2), round(bare2, 2)],
    }  # fmt: skip


HH_SPLITS = ("helpful-base", "harmless-base", "helpful-online", "helpful-rejection-sampled")


def fitting_examples(tok, n: int, max_length: int):
    """The first ``n`` hh-rlhf pairs (over the test splits in order) whose both sides fit in
    ``max_length - 1`` tokens as prefhouse formats them: TRL, which appends one EOS token, keeps
    every one of them and prefhouse truncates none."""
    from pipelines.ingest import RawPair, read_file
    from rm.data import Example
    from rm.formatting import format_pair_side

    out, seen = [], set()
    for split in HH_SPLITS:
        rows = [r for r in read_file(REPO / "data" / "hh-rlhf" / split / "test.jsonl.gz", "hh-rlhf")
                if isinstance(r, RawPair) and not r.is_tie]  # fmt: skip
        texts = [format_pair_side(tok, r.conversation, side) for r in rows for side in (r.chosen, r.rejected)]
        lengths = [len(ids) for ids in tok(texts, add_special_tokens=True)["input_ids"]]
        for i, r in enumerate(rows):
            key = (repr(r.conversation), r.chosen, r.rejected)
            if max(lengths[2 * i], lengths[2 * i + 1]) <= max_length - 1 and key not in seen:
                seen.add(key)
                out.append(Example(r.conversation, r.chosen, r.rejected, pair_id=f"{split}-{r.source_row}"))
                if len(out) >= n:
                    return out
    return out


def _split_heldout(examples, n_train: int):
    """The first ``n_train`` pairs to train on; the rest, minus any prompt seen in training, held out."""
    train = examples[:n_train]
    prompts = {repr(e.conversation) for e in train}
    return train, [e for e in examples[n_train:] if repr(e.conversation) not in prompts]


def _export_text(lake_dir: Path, out: Path, examples) -> Path:
    """The pairs written to a lake and exported in the ``text`` layout (what TRL reads)."""
    from lake import Lake
    from lake.records import pair_row, pairs_table
    from lake.snapshot import open_snapshot

    lake = Lake(lake_dir)
    lake.append("pairs", pairs_table(pair_row(e.conversation, e.chosen, e.rejected) for e in examples))
    return open_snapshot(lake, "pairs").export(out, "parquet", "text")


def _accuracy(model, encoded, pad_id: int) -> float:
    from rm.inference import pair_metrics, score_encoded

    return round(pair_metrics(*score_encoded(model, encoded, pad_id, 64))["accuracy"], 4)


def run_prefhouse(args, tmp: Path, backbone: str, train, held_enc, steps: int, precision: str) -> dict:
    from rm import train_config, train_examples
    from rm.inference import load_run
    from rm.model import use_bf16

    cfg = train_config(
        "cpu", out=tmp / f"prefhouse-{precision}", backbone=backbone, max_length=args.max_length,
        batch_size=args.batch, max_steps=steps, torch_threads=args.threads, warmup_ratio=0.0, lr=args.lr,
        precision=precision,
    )  # fmt: skip
    t0 = time.perf_counter()
    result = train_examples(cfg, train, [], {"source": "bench"})
    e2e = time.perf_counter() - t0
    rows = [json.loads(ln) for ln in (Path(cfg.out) / "metrics.jsonl").read_text().splitlines()]
    pairs = sum(r["pairs"] for r in rows)
    loop = pairs / sum(r["pairs"] / r["pairs_per_s"] for r in rows)
    model, tok, _ = load_run(cfg.out, "cpu", args.threads)
    return {
        "precision": f"{precision} ({'bf16 autocast' if use_bf16(precision, 'cpu') else 'fp32'})",
        "gradient_checkpointing": cfg.gradient_checkpointing,
        "steps": result.steps,
        "pairs_trained": pairs,
        "loop_pairs_per_s": round(loop, 2),
        "end_to_end_pairs_per_s": round(pairs / e2e, 2),
        "final_loss": round(result.final_loss, 4),
        "heldout_accuracy": _accuracy(model, held_enc, tok.pad_token_id),
        "heldout_pairs": len(held_enc),
    }


def run_trl(args, tmp: Path, backbone: str, train_file: Path, held_file: Path, steps: int, defaults: bool) -> dict:
    from datasets import load_dataset
    from transformers import AutoTokenizer, TrainerCallback
    from trl import RewardConfig, RewardTrainer

    from rm.data import Encoded

    class LoopClock(TrainerCallback):
        def on_train_begin(self, *a, **k):
            self.begin = time.perf_counter()

        def on_step_end(self, *a, **k):
            self.end = time.perf_counter()

    name = "trl-defaults" if defaults else "trl-fp32"
    tok = AutoTokenizer.from_pretrained(backbone)  # only to name its EOS (MiniLM has none: [SEP])
    precision = {} if defaults else {"bf16": False, "gradient_checkpointing": False}
    config = RewardConfig(
        output_dir=str(tmp / name), max_steps=steps, per_device_train_batch_size=args.batch, learning_rate=args.lr,
        max_length=args.max_length, eos_token=tok.eos_token or tok.sep_token, logging_steps=steps,
        report_to="none", save_strategy="no", use_cpu=True, seed=0, **precision,
    )  # fmt: skip
    cache = str(tmp / "hf-cache")
    t0 = time.perf_counter()
    ds = load_dataset("parquet", data_files=str(train_file), split="train", cache_dir=cache)
    clock = LoopClock()
    with contextlib.redirect_stdout(sys.stderr):  # the Trainer prints its logs: stdout stays the JSON report
        trainer = RewardTrainer(model=backbone, args=config, train_dataset=ds, callbacks=[clock])
        kept = len(trainer.train_dataset)
        trainer.train()
    e2e = time.perf_counter() - t0
    pairs = trainer.state.global_step * args.batch
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    held = trainer._prepare_dataset(  # what TRL's own evaluate() does to an eval dataset
        load_dataset("parquet", data_files=str(held_file), split="train", cache_dir=cache),
        trainer.processing_class, config, "heldout",
    )  # fmt: skip
    enc = [Encoded(r["pair_id"], r["chosen_ids"], r["rejected_ids"]) for r in held]
    return {
        "precision": "bf16 autocast" if config.bf16 else "fp32",
        "gradient_checkpointing": config.gradient_checkpointing,
        "steps": trainer.state.global_step,
        "pairs_trained": pairs,
        "pairs_dropped_by_max_length": len(ds) - kept,
        "loop_pairs_per_s": round(pairs / (clock.end - clock.begin), 2),
        "end_to_end_pairs_per_s": round(pairs / e2e, 2),
        "final_loss": round(losses[-1], 4) if losses else None,
        "heldout_accuracy": _accuracy(trainer.model, enc, trainer.processing_class.pad_token_id),
        "heldout_pairs": len(enc),
    }


def bench_trl(args, tok, backbone: str) -> dict:
    """prefhouse train and TRL's RewardTrainer side by side (module docstring)."""
    import transformers
    import trl

    from rm.data import encode

    examples = fitting_examples(tok, args.pairs + args.heldout, args.max_length)
    train, held = _split_heldout(examples, args.pairs)
    if len(train) < args.pairs:
        raise SystemExit(f"only {len(train)} hh-rlhf pairs fit in {args.max_length - 1} tokens")
    steps = args.steps or max(1, len(train) // args.batch)
    held_enc = encode(tok, held, args.max_length)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        train_file = _export_text(tmp / "lake-train", tmp / "export-train", train)
        held_file = _export_text(tmp / "lake-held", tmp / "export-held", held)
        runs = {
            "prefhouse-defaults": run_prefhouse(args, tmp, backbone, train, held_enc, steps, "auto"),
            "trl-defaults": run_trl(args, tmp, backbone, train_file, held_file, steps, defaults=True),
            "trl-fp32": run_trl(args, tmp, backbone, train_file, held_file, steps, defaults=False),
            "prefhouse-fp32": run_prefhouse(args, tmp, backbone, train, held_enc, steps, "fp32"),
        }
    loops = {k: v["loop_pairs_per_s"] for k, v in runs.items()}
    return {
        "pairs": len(train), "heldout_pairs": len(held), "steps": steps, "lr": args.lr, "schedule": "linear, no warmup",
        "versions": {"trl": trl.__version__, "transformers": transformers.__version__},
        "loop_pairs_per_s": loops, "heldout_accuracy": {k: v["heldout_accuracy"] for k, v in runs.items()},
        "runs": runs,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--sections", default="train,score", help="comma-separated: train, score, trl (prefhouse beside TRL)"
    )
    ap.add_argument("--pairs", type=int, default=256, help="pairs to train (and score) on")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=None, help="trl section: optimizer steps (default: pairs // batch)")
    ap.add_argument("--heldout", type=int, default=256, help="trl section: held-out pairs for accuracy")
    ap.add_argument("--lr", type=float, default=5e-5, help="trl section: peak learning rate of both trainers")
    args = ap.parse_args()
    sections = {s.strip() for s in args.sections.split(",") if s.strip()}
    if sections - {"train", "score", "trl"}:
        ap.error(f"unknown section(s) {sorted(sections - {'train', 'score', 'trl'})}")
    import torch

    from rm import train_config, train_examples
    from rm.config import default_backbone
    from rm.model import load_tokenizer

    torch.set_num_threads(args.threads)
    backbone = default_backbone()
    tok = load_tokenizer(backbone)
    report: dict = {"batch": args.batch, "max_length": args.max_length, "threads": args.threads}
    if sections & {"train", "score"}:
        examples = hh_examples(args.pairs)
        report["pairs"] = len(examples)
    if "train" in sections:
        report["train"] = bench_train(args, examples, tok, backbone)
    if "score" in sections:
        with tempfile.TemporaryDirectory() as tmp:  # a checkpoint to score with (1 step is enough)
            cfg = train_config("cpu", out=Path(tmp) / "run", max_length=args.max_length, max_steps=1,
                               torch_threads=args.threads)  # fmt: skip
            train_examples(cfg, examples[:16], [], {})
            report["score"] = bench_score(args, examples, Path(tmp) / "run")
    if "trl" in sections:
        report["trl"] = bench_trl(args, tok, backbone)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
