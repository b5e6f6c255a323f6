"""Ingest benchmark: pairs/s and peak RSS of ``prefhouse ingest`` beside a bare parse.

For each scale (``--rows 10000 100000 1000000``) the script synthesises a JSONL file of
unique pairs from the shipped data (real prompts and responses; a row number in the prompt
makes each row unique), then measures, in the same run:

- the bare parse of the same file: pyarrow's streaming JSON reader, and polars' NDJSON reader;
- ``prefhouse ingest FILE`` into a fresh lake, run as a subprocess: wall time, pairs/s, and
  peak RSS (polled with psutil, children included).

Targets (issue 2): 1M pairs in under 2 minutes on 2 cores, peak RSS under 3 GB, ingest at
most 3x the bare parse time. Run: ``.venv/bin/python benchmarks/ingest.py --rows 10000 100000 1000000``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipelines.ingest import RawPair, read_file  # noqa: E402

SEEDS = ["hh-rlhf", "llmbar", "pandalm", "evalbiasbench", "pku-saferlhf-sample"]


# --------------------------------------------------------------------------- synthesise
def seed_pairs() -> list[RawPair]:
    pairs = []
    for name in SEEDS:
        for path in sorted((REPO / "data" / name).rglob("*.json*")):
            pairs.extend(p for p in read_file(path) if isinstance(p, RawPair) and len(p.conversation) == 1)
    return pairs


def synthesise(path: Path, rows: int, fmt: str, seeds: list[RawPair]) -> None:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as fh:
        for i in range(rows):
            p = seeds[i % len(seeds)]
            prompt = f"{p.conversation[0]['content']} [#{i}]"
            if fmt == "hh":
                row = {"chosen": f"\n\nHuman: {prompt}\n\nAssistant: {p.chosen}",
                       "rejected": f"\n\nHuman: {prompt}\n\nAssistant: {p.rejected}"}  # fmt: skip
            else:
                row = {"prompt": prompt, "chosen": p.chosen, "rejected": p.rejected}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


# ------------------------------------------------------------------------------ measure
def parse_pyarrow(path: Path) -> float:
    import pyarrow.json as pajson

    t = time.perf_counter()
    reader = pajson.open_json(path, read_options=pajson.ReadOptions(block_size=8 << 20))
    n = sum(batch.num_rows for batch in reader)
    assert n > 0
    return time.perf_counter() - t


def parse_polars(path: Path) -> float:
    import polars as pl

    t = time.perf_counter()
    # materialise every column (a bare count could skip parsing)
    out = pl.scan_ndjson(path).select(pl.all().str.len_bytes().sum()).collect()
    assert out.height == 1
    return time.perf_counter() - t


def run_ingest(path: Path, lake: Path) -> dict[str, float]:
    cmd = [sys.executable, "-m", "prefhouse.cli", "--lake", str(lake), "ingest", str(path), "--json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = psutil.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [proc, *proc.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs))
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.05)
    wall = time.perf_counter() - t
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed ({proc.returncode}): {err[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    report = json.loads(out)
    return {"wall": wall, "cpu": cpu, "peak_rss": peak, "accepted": report["accepted"], "read": report["read"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="scales to measure")
    ap.add_argument("--format", choices=("flat", "hh"), default="flat", help="layout of the synthesised file")
    ap.add_argument("--gzip", action="store_true", help="write .jsonl.gz instead of .jsonl")
    ap.add_argument("--workdir", default=None, help="where files and lakes go (default: a temp dir, removed after)")
    ap.add_argument("--json-out", default=None, help="also write the results as JSON here")
    args = ap.parse_args()
    os.environ.setdefault("POLARS_MAX_THREADS", "2")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    seeds = seed_pairs()
    print(f"{len(seeds)} seed pairs from data/; {psutil.cpu_count()} cores; format {args.format}", flush=True)
    results = []
    try:
        for rows in args.rows:
            path = work / f"pairs-{args.format}-{rows}.jsonl{'.gz' if args.gzip else ''}"
            if not path.exists():
                synthesise(path, rows, args.format, seeds)
            parse_pa = parse_pyarrow(path) if not args.gzip else float("nan")
            parse_pl = parse_polars(path) if not args.gzip else float("nan")
            lake = work / f"lake-{rows}"
            shutil.rmtree(lake, ignore_errors=True)
            ing = run_ingest(path, lake)
            assert ing["accepted"] == rows, ing
            res = {
                "rows": rows, "file_mb": path.stat().st_size / 2**20, "parse_pyarrow_s": parse_pa,
                "parse_polars_s": parse_pl, "ingest_s": ing["wall"], "ingest_cpu_s": ing["cpu"],
                "pairs_per_s": rows / ing["wall"],
                "peak_rss_mb": ing["peak_rss"] / 2**20, "ratio_vs_pyarrow": ing["wall"] / parse_pa,
            }  # fmt: skip
            results.append(res)
            print(json.dumps(res), flush=True)
            shutil.rmtree(lake, ignore_errors=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    cols = ["rows", "file MB", "pyarrow s", "polars s", "ingest s", "ingest cpu s", "pairs/s", "peak RSS MB", "x parse"]
    print("\n" + " ".join(f"{c:>12}" for c in cols))
    for r in results:
        values = [r["rows"], r["file_mb"], r["parse_pyarrow_s"], r["parse_polars_s"], r["ingest_s"], r["ingest_cpu_s"],
                  r["pairs_per_s"], r["peak_rss_mb"], r["ratio_vs_pyarrow"]]  # fmt: skip
        print(" ".join(f"{v:>12.2f}" if isinstance(v, float) else f"{v:>12}" for v in values))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
