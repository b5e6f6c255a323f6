"""Does curation recover injected label noise? The controlled half of issue 7's proof.

A pool whose true preference is checkable by construction (``pipelines.synth.checkable``:
a real prompt plus a verifiable instruction; chosen satisfies it, rejected is the same real
response edited to break it) gets a known share of flipped labels (seeded). Gold comes from
the truth for a few pairs. The script runs Stage-1 rounds and one Stage-2 round through the
real round runner (RMs, embeddings, retrieval, dbt, gate, publish) and measures

- precision / recall of the Stage-2 drop-or-flip decisions against the injected flips;
- held-out accuracy (clean test pairs) of RMs trained with the same budget and seed on the
  raw pool, the kept set, kept + flipped, and the clean pool.

Usage (CPU-sized defaults; the lead reruns the full grid):
    .venv/bin/python benchmarks/noise_recovery.py --shares 0.1 0.2 0.4 --seeds 0 1 2 --out bench-noise.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]


def _gold_rows(pool, flipped: set[int], ids: list[str], n_gold: int, seed: int):
    """Human labels from the truth for ``n_gold`` seeded pool pairs."""
    import random

    import pyarrow as pa

    from lake.schemas import HUMAN_LABELS

    now = datetime.now(UTC)
    picks = random.Random(seed).sample(range(len(pool)), n_gold)
    rows = [
        dict(label_id=f"truth-{ids[i]}", pair_id=ids[i], round=0, annotator="truth",
             verdict="rejected" if i in flipped else "chosen", is_chosen_shown_first=None, note=None,
             tools=[], origin="import:truth", labeled_at=now)
        for i in picks
    ]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=HUMAN_LABELS), {ids[i] for i in picks}


def _examples(rows):
    from rm.data import Example

    return [Example(r["conversation"], r["chosen"], r["rejected"], r.get("pair_id", "")) for r in rows]


def _held_out_accuracy(cfg, name: str, train, test, out: Path) -> float:
    """Train with the shared budget (no checkpoint selection) and score the clean test pairs."""
    from rm import train_config
    from rm.data import encode
    from rm.inference import load_run, pair_metrics, score_encoded
    from rm.train import train_examples

    if not train:
        return float("nan")
    tc = train_config(
        "cpu", out=out / f"rm-{name}", run_id=f"rm-{name}", max_steps=cfg.rm_steps, max_length=cfg.max_length,
        batch_size=16, seed=cfg.seed_rm, eval_every=10**9, val_fraction=0.0,
    )  # fmt: skip
    train_examples(tc, train, [], {"table": name})
    model, tok, _ = load_run(out / f"rm-{name}", device="cpu")
    rc, rr = score_encoded(model, encode(tok, test, cfg.max_length), tok.pad_token_id, 64)
    return pair_metrics(rc, rr)["accuracy"]


def run_one(cfg, share: float, seed: int, workdir: Path) -> dict:
    from lake import Lake
    from pipelines.rounds.config import RoundConfig
    from pipelines.rounds.plan import run_configured_round
    from pipelines.synth import flip_labels, make_checkable_pairs, to_pairs_table

    t0 = time.perf_counter()
    pairs = make_checkable_pairs(cfg.n + cfg.n_test, seed=seed, data_dir=cfg.data)
    clean, test = pairs[: cfg.n], pairs[cfg.n :]
    noisy, flipped_idx = flip_labels(clean, share, seed)
    flipped = set(flipped_idx)
    lake = Lake(workdir / "lake")
    table = to_pairs_table(noisy)
    lake.append("pairs", table, "noise-recovery pool")
    ids = table.column("pair_id").to_pylist()
    gold_table, gold = _gold_rows(noisy, flipped, ids, cfg.n_gold, seed)
    lake.append("human_labels", gold_table, "gold from the truth")
    rounds = [(r, 1) for r in range(1, cfg.stage1_rounds + 1)] + [(cfg.stage1_rounds + 1, 2)]
    for rnd, stage in rounds:
        rc = RoundConfig(round=rnd, stage=stage, rm_max_steps=cfg.rm_steps, rm_limit=cfg.n,
                         rm_max_length=cfg.max_length, runs_dir=workdir / "runs", seed=seed)  # fmt: skip
        outcome = run_configured_round(lake, rc, log=lambda m: print("   ", m, flush=True))
        if outcome.status != "done":
            raise RuntimeError(f"round {rnd} {outcome.status}: {outcome.message}")
    last = rounds[-1][0]
    kept_rows = lake.dataset("curated", f"round-{last}").to_table().to_pylist()
    flip_rows = lake.dataset("flipped", f"round-{last}").to_table().to_pylist()
    kept_ids = {r["pair_id"] for r in kept_rows}
    judged = [i for i in range(cfg.n) if ids[i] not in gold]  # gold pairs are decided by the truth itself
    caught = {i for i in judged if ids[i] not in kept_ids}
    injected = {i for i in judged if i in flipped}
    tp = len(caught & injected)
    result = {
        "share": share, "seed": seed, "n_pool": cfg.n, "n_gold": len(gold), "n_injected": len(injected),
        "n_dropped_or_flipped": len(caught), "precision": tp / len(caught) if caught else float("nan"),
        "recall": tp / len(injected) if injected else float("nan"),
        "n_kept": len(kept_rows), "n_flipped": len(flip_rows),
    }  # fmt: skip
    test_ex = _examples([{"conversation": p.conversation, "chosen": p.chosen, "rejected": p.rejected} for p in test])
    sets = {
        "raw": _examples([{"conversation": p.conversation, "chosen": p.chosen, "rejected": p.rejected} for p in noisy]),
        "kept": _examples(kept_rows),
        "kept+flipped": _examples(kept_rows + flip_rows),
        "clean": _examples(
            [{"conversation": p.conversation, "chosen": p.chosen, "rejected": p.rejected} for p in clean]
        ),
    }
    for name, train in sets.items():
        result[f"acc_{name}"] = _held_out_accuracy(cfg, name, train, test_ex, workdir)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def _spread(values: list[float]) -> str:
    vals = [v for v in values if v == v]
    if not vals:
        return "n/a"
    sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return f"{statistics.mean(vals):.3f} ± {sd:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shares", type=float, nargs="+", default=[0.2], help="injected flip shares")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (pool, flips, gold pick)")
    ap.add_argument("--n", type=int, default=400, help="pool pairs")
    ap.add_argument("--n-test", type=int, default=200, help="clean held-out test pairs")
    ap.add_argument("--n-gold", type=int, default=60, help="pool pairs with gold labels from the truth")
    ap.add_argument("--stage1-rounds", type=int, default=1, help="Stage-1 rounds before Stage 2")
    ap.add_argument("--rm-steps", type=int, default=60, help="optimizer steps per RM (the shared budget)")
    ap.add_argument("--seed-rm", type=int, default=0, help="seed of the comparison RMs")
    ap.add_argument("--max-length", type=int, default=128, help="RM tokens per side")
    ap.add_argument("--data", type=Path, default=REPO / "data", help="the repo's sample data")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/noise-recovery"), help="scratch folder")
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    cfg = ap.parse_args(argv)
    import torch

    torch.set_num_threads(2)
    results = []
    for share in cfg.shares:
        for seed in cfg.seeds:
            work = cfg.workdir / f"share{share}-seed{seed}"
            if work.exists():
                import shutil

                shutil.rmtree(work)
            print(f"== share {share} seed {seed}", flush=True)
            results.append(run_one(cfg, share, seed, work))
            print(json.dumps(results[-1]), flush=True)
    print("\n| share | precision | recall | acc raw | acc kept | acc kept+flipped | acc clean |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for share in cfg.shares:
        rs = [r for r in results if r["share"] == share]
        cols = ["precision", "recall", "acc_raw", "acc_kept", "acc_kept+flipped", "acc_clean"]
        print(f"| {share:.0%} | " + " | ".join(_spread([r[c] for r in rs]) for c in cols) + " |")
    if cfg.out:
        cfg.out.write_text(
            json.dumps({"config": {k: str(v) for k, v in vars(cfg).items()}, "results": results}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
