"""Decontamination on the shipped data: hits per benchmark and rule, recall on known overlaps, and
every flagged pair written out for a hand audit of false positives (issue 15).

1. The shipped pair data (hh-rlhf test splits, PandaLM, PKU-SafeRLHF sample) goes into a fresh
   lake as pairs; LLMBar and EvalBiasBench (the demo's benchmarks) as benchmark prompts.
2. A "known-overlap" benchmark: ``--known`` first-turn prompts drawn (seeded) from those pairs,
   half of them shorter than the n-gram, written as a benchmark file and ingested with
   ``--as-benchmark``. Every one of them must be flagged: that is the recall check.
3. One ``dbt build``; the counts per benchmark and rule come from the ``round_summary`` mart,
   the flagged pairs from ``curated_pairs``, each with its benchmark prompt, to ``--audit``.

Usage:
    .venv/bin/python benchmarks/decontam_audit.py --audit /tmp/decontam-audit.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]
PAIRS = [
    *[(p, "hh-rlhf", f"hh-rlhf:{p.parent.name}") for p in sorted((REPO / "data" / "hh-rlhf").glob("*/test.jsonl.gz"))],
    (REPO / "data" / "pandalm" / "testset-v1.json", "pandalm", "pandalm"),
    (REPO / "data" / "pku-saferlhf-sample" / "train.json", "auto", "pku-saferlhf"),
]
BENCHMARKS = [
    (REPO / "data" / "llmbar", "llmbar"),
    (REPO / "data" / "evalbiasbench" / "biasbench.json", "evalbiasbench"),
]


def _known_overlap(lake, n: int, ngram: int, seed: int, out: Path) -> list[str]:
    """``n`` first prompts of the lake's pairs, half shorter than ``ngram`` words, as a benchmark file."""
    import re

    from lake.sql import query

    prompts = query(lake, "select distinct conversation[1].content as p from pairs order by p").column("p").to_pylist()
    n_words = {p: len(re.findall(r"[^\W_]+", p.lower())) for p in prompts}  # only to split short from long
    short = [p for p in prompts if 0 < n_words[p] < ngram]
    long = [p for p in prompts if n_words[p] >= ngram]
    rng = random.Random(seed)
    picked = rng.sample(short, min(len(short), n // 2)) + rng.sample(long, n - min(len(short), n // 2))
    rows = [{"prompt": p, "chosen": "x", "rejected": "y", "subset": "known", "id": f"known-{i}"}
            for i, p in enumerate(picked)]  # fmt: skip
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return picked


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--known", type=int, default=61, help="prompts of the known-overlap benchmark (0: none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--audit", type=Path, default=Path("decontam-audit.jsonl"), help="every flagged pair, as JSONL")
    ap.add_argument("--workdir", type=Path, default=None, help="lake folder (default: a temporary one)")
    args = ap.parse_args(argv)

    from lake import Lake
    from pipelines import dbt_runner
    from pipelines.ingest import ingest_paths

    work = args.workdir or Path(tempfile.mkdtemp(prefix="decontam-audit-"))
    lake = Lake(work / "lake")
    t0 = time.perf_counter()
    for path, fmt, source in PAIRS:
        rep = ingest_paths(lake, [path], format=fmt, source=source)
        print(f"pairs      {source:<32} new {rep.n_accepted:>6}", flush=True)
    for path, source in BENCHMARKS:
        rep = ingest_paths(lake, [path], source=source, as_benchmark=True)
        print(f"benchmark  {source:<32} new prompts {rep.n_accepted:>6}", flush=True)
    known: list[str] = []
    if args.known:
        known_file = work / "known-overlap.jsonl"
        known = _known_overlap(lake, args.known, 13, args.seed, known_file)
        rep = ingest_paths(lake, [known_file], source="known-overlap", as_benchmark=True)
        print(f"benchmark  {'known-overlap':<32} new prompts {rep.n_accepted:>6} (of {len(known)})", flush=True)
    result = dbt_runner.build(lake, round=1, stage=1, quiet=True)
    if not result.success:
        print("dbt build failed:", *result.failures, sep="\n  ")
        return 1
    _, counts = dbt_runner.query_marts(
        lake,
        "select step_kind, step, sum(n_pairs)::bigint from round_summary where step_kind in "
        "('in', 'contaminated_by', 'contamination_rule') group by all order by all",
    )
    print("\nround_summary:")
    for kind, step, n in counts:
        print(f"  {kind:<20} {step:<16} {n:>6}")
    cols, flagged = dbt_runner.query_marts(
        lake,
        "select c.pair_id, c.source, c.prompt_id, c.contaminated_by, c.contaminated_prompt_id, c.contaminated_item, "
        "c.contamination_rule, "
        "c.contamination_match, d.n_benchmarks from curated_pairs c join int_prompts_decontaminated d "
        "using (prompt_id) where c.is_contaminated order by c.contaminated_by, c.contamination_rule, c.pair_id",
    )
    bench = {(r["benchmark"], r["prompt_id"]): r for r in lake.dataset("benchmark_prompts").to_table(
        columns=["benchmark", "prompt_id", "prompt", "source_file", "source_row"]).to_pylist()}  # fmt: skip
    first = {r["pair_id"]: r["conversation"][0]["content"] for r in lake.dataset("pairs").to_table(
        columns=["pair_id", "conversation"]).to_pylist()}  # fmt: skip
    with open(args.audit, "w") as fh:
        for row in flagged:
            r = dict(zip(cols, row, strict=True))
            r["prompt"] = first.get(r["pair_id"])
            matched = bench.get((r["contaminated_by"], r["contaminated_prompt_id"])) or {}
            r["benchmark_prompt"], r["benchmark_file"] = matched.get("prompt"), matched.get("source_file")
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    flagged_ids = {row[0] for row in flagged}  # pair_id -> benchmark of its first hit
    by_prompt: dict[str, list[str]] = {}
    for pid, text in first.items():
        by_prompt.setdefault(text, []).append(pid)
    caught = [p for p in known if any(pid in flagged_ids for pid in by_prompt.get(p, []))]
    n_short = sum(1 for p in known if len(p.split()) < 13)
    missed = [p for p in known if p not in caught]
    print(f"\nknown overlaps flagged: {len(caught)} of {len(known)} (drawn: {n_short} under 13 words)")
    for p in missed:
        print(f"  missed: {p[:120]!r}")
    print(f"flagged pairs written to {args.audit} ({len(flagged)} rows); {time.perf_counter() - t0:.0f} s; lake {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
