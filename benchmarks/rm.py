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
and the mean is used, which evens out machine load. Usage::

    .venv/bin/python benchmarks/rm.py [--pairs 256] [--batch 16] [--max-length 128] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LANCEDB_LOG", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch

    from rm import train_config, train_examples
    from rm.config import default_backbone
    from rm.model import load_tokenizer

    torch.set_num_threads(args.threads)
    backbone = default_backbone()
    tok = load_tokenizer(backbone)
    examples = hh_examples(args.pairs)
    report = {"pairs": len(examples), "batch": args.batch, "max_length": args.max_length, "threads": args.threads,
              "train": bench_train(args, examples, tok, backbone)}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:  # a checkpoint to score with (1 step is enough)
        cfg = train_config("cpu", out=Path(tmp) / "run", max_length=args.max_length, max_steps=1,
                           torch_threads=args.threads)  # fmt: skip
        train_examples(cfg, examples[:16], [], {})
        report["score"] = bench_score(args, examples, Path(tmp) / "run")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
