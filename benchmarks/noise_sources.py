"""The pools of the noise-recovery benchmark: each one clean, noisy, which pairs are flipped, and a test set.

- ``controlled``: checkable pairs built from the repo's sample data (``pipelines.synth``), a seeded
  share of labels flipped; the truth is known by construction.
- ``ultrafeedback``: the UltraFeedback copy whose 20% flips are marked (``label_flip_20.jsonl``,
  ``metadata.noise.selected``); truth = ``train_clean.jsonl``, test = ``eval_clean.jsonl``. It is
  not in the repo (license): the benchmark reads it from ``--ultrafeedback DIR`` only.
- ``hh-rlhf``: the repo's hh-rlhf test splits with a seeded share of labels flipped; truth = the
  original labels, test = a disjoint slice of the same files.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HH_FILES = ("hh-rlhf/helpful-base/test.jsonl.gz", "hh-rlhf/harmless-base/test.jsonl.gz")


@dataclass
class Pool:
    """One benchmark pool. Rows are dicts with conversation, chosen, rejected, category."""

    name: str
    clean: list[dict[str, Any]]
    noisy: list[dict[str, Any]]
    flipped: set[int]
    test: list[dict[str, Any]]
    label_origin: str


def _swap(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "chosen": row["rejected"], "rejected": row["chosen"]}


def _inject(clean: list[dict[str, Any]], share: float, seed: int) -> tuple[list[dict[str, Any]], set[int]]:
    # a stream of its own ("flip:") so the gold pick (another stream) is independent of the flips
    flipped = set(random.Random(f"flip:{seed}").sample(range(len(clean)), round(share * len(clean))))
    return [_swap(r) if i in flipped else r for i, r in enumerate(clean)], flipped


def controlled(
    n: int, n_test: int, share: float, seed: int, data_dir: Path, kinds: Sequence[str] | None = None
) -> Pool:
    from pipelines.synth import KINDS, make_checkable_pairs

    pairs = make_checkable_pairs(n + n_test, seed=seed, data_dir=data_dir, kinds=tuple(kinds or KINDS))
    if len(pairs) < n + n_test:
        raise ValueError(f"only {len(pairs)} checkable pairs from {data_dir}; ask for fewer (--n, --n-test)")
    rows = [
        {"conversation": p.conversation, "chosen": p.chosen, "rejected": p.rejected, "category": p.instruction.kind}
        for p in pairs
    ]
    clean, test = rows[:n], rows[n:]
    noisy, flipped = _inject(clean, share, seed)
    return Pool(f"controlled {share:.0%}", clean, noisy, flipped, test, "synthetic")


def _uf_row(rec: dict[str, Any]) -> dict[str, Any]:
    return {
        "conversation": [{"role": "user", "content": rec["prompt"]}],
        "chosen": rec["chosen"],
        "rejected": rec["rejected"],
        "category": "ultrafeedback",
    }


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open() as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _usable(a: str, b: str) -> bool:
    """Both responses non-empty and different after ingest's normalisation (ingest quarantines the rest)."""
    from lake.ids import normalize_text

    a, b = normalize_text(a), normalize_text(b)
    return bool(a) and bool(b) and a != b


def ultrafeedback(n: int, n_test: int, seed: int, root: Path) -> Pool:
    """The first ``n`` rows of the marked-flip copy (its flips were drawn by its makers, not by us)."""
    noisy_recs = _read_jsonl(root / "label_flip_20.jsonl")
    clean_recs = _read_jsonl(root / "train_clean.jsonl")
    test_recs = _read_jsonl(root / "eval_clean.jsonl")
    if [r["source_index"] for r in noisy_recs] != [r["source_index"] for r in clean_recs]:
        raise ValueError(f"{root}: label_flip_20.jsonl and train_clean.jsonl are not row-aligned")
    # rows with an empty response or two equal ones are not pairs: ingest would quarantine them,
    # and the pairs quality gate blocks a round that has one
    usable = [i for i, r in enumerate(map(_uf_row, clean_recs)) if _usable(r["chosen"], r["rejected"])]
    idx = sorted(random.Random(f"uf:{seed}").sample(usable, min(n, len(usable))))
    clean = [_uf_row(clean_recs[i]) for i in idx]
    noisy = [_uf_row(noisy_recs[i]) for i in idx]
    flipped = {j for j, i in enumerate(idx) if noisy_recs[i]["metadata"]["noise"]["selected"]}
    for j in flipped:  # the mark must mean what we think: chosen and rejected swapped
        if noisy[j]["chosen"] != clean[j]["rejected"]:
            raise ValueError(f"{root}: row {idx[j]} is marked flipped but is not a swap of the clean row")
    test = [_uf_row(r) for r in test_recs[:n_test]]
    return Pool("ultrafeedback 20% (marked)", clean, noisy, flipped, test, "model")


def hh_rlhf(n: int, n_test: int, share: float, seed: int, data_dir: Path) -> Pool:
    from pipelines.ingest import RawPair, read_file

    rows, seen = [], set()
    for rel in HH_FILES:
        for raw in read_file(data_dir / rel, "hh-rlhf"):
            key = (raw.chosen, raw.rejected) if isinstance(raw, RawPair) else None
            if key is None or raw.is_tie or raw.chosen == raw.rejected or key in seen or not raw.conversation:
                continue
            seen.add(key)
            cat = rel.split("/")[1]
            rows.append(
                {"conversation": raw.conversation, "chosen": raw.chosen, "rejected": raw.rejected, "category": cat}
            )
    random.Random(f"hh:{seed}").shuffle(rows)
    if len(rows) < n + n_test:
        raise ValueError(f"only {len(rows)} hh-rlhf pairs under {data_dir}; ask for fewer (--n, --n-test)")
    clean, test = rows[:n], rows[n : n + n_test]  # the test slice is disjoint from the pool
    noisy, flipped = _inject(clean, share, seed)
    return Pool(f"hh-rlhf {share:.0%}", clean, noisy, flipped, test, "human")


def pairs_table(pool: Pool) -> Any:
    """The noisy pool in the lake's ``pairs`` schema (category kept; no truth in the rows)."""
    from lake.records import pair_row
    from lake.records import pairs_table as build

    rows = [
        pair_row(r["conversation"], r["chosen"], r["rejected"], source="noise-recovery", source_file=pool.name,
                 source_row=i, category=r["category"], label_origin=pool.label_origin)
        for i, r in enumerate(pool.noisy)
    ]  # fmt: skip
    return build(rows)
