"""Per-batch lookups against a pool-sized frame: a polars join per batch against :class:`KeyIndex`.

The embedding stages look up each streamed batch's attributes and stored vectors in frames as
large as the pool. A polars join hashes the large side on every call; ``KeyIndex`` sorts it once
and binary-searches each batch. This prints, for growing frames, the milliseconds per batch of
each, the one-off sort, and what a pass over the whole pool costs (batches x per-batch time).

    .venv/bin/python benchmarks/keyindex.py [--sizes 100000 1000000 4000000] [--batch 512]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pipelines.retrieval.keyindex import KeyIndex


def _ms(fn, *args, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn(*args)
    return (time.perf_counter() - start) / repeat * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 4_000_000])
    parser.add_argument("--batch", type=int, default=512, help="rows per looked-up batch (the Ray engine's default)")
    args = parser.parse_args()
    rng = random.Random(0)
    heads = ("stored rows", 12), ("polars anti join", 17), ("KeyIndex", 9), ("sort once", 10), ("pass: join", 11)
    print(" ".join(f"{h:>{w}}" for h, w in heads), f"{'pass: index':>12}")
    for size in args.sizes:
        keys = [f"{rng.getrandbits(128):032x}" for _ in range(size)]
        stored = pl.DataFrame({"pair_id": keys, "text_hash": keys})
        batch = stored.sample(args.batch, seed=1).vstack(stored.head(0))
        start = time.perf_counter()
        index = KeyIndex(stored, "pair_id")
        sort_s = time.perf_counter() - start
        on = ["pair_id", "text_hash"]
        join_ms = _ms(batch.join, stored, on, "anti", repeat=5)
        index_ms = _ms(index.anti, batch, on, repeat=20)
        assert index.anti(batch, ["pair_id", "text_hash"]).height == 0
        batches = size / args.batch
        print(f"{size:>12,} {join_ms:>14.1f} ms {index_ms:>6.2f} ms {sort_s:>8.2f} s "
              f"{batches * join_ms / 1000:>9.0f} s {sort_s + batches * index_ms / 1000:>10.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
