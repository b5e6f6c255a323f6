"""Ingest benchmark: pairs/s and peak RSS of ``prefhouse ingest`` beside a bare parse.

For each scale (``--rows 10000 100000 1000000``) the script synthesises a JSONL file of
unique pairs from the shipped data (real prompts and responses; a row number in the prompt
makes each row unique), then measures, in the same run:

- the bare parse of the same file: pyarrow's streaming JSON reader, and polars' NDJSON reader;
- ``prefhouse ingest FILE`` into a fresh lake, run as a subprocess: wall and CPU time, pairs/s,
  peak RSS (polled with psutil, children included), and the same command on a one-row file
  (its fixed cost: interpreter, imports, a new lake);
- the floors of any ingest that stores what it parses, in this process: the same pyarrow stream
  written to a Lance table (no checks, ids or dedup); the same plus the three ids of every row
  (the lake's SHA-256 keys, hashed as the fast path does); and the same keys hashed with
  xxh3-128, the fastest hash in polars-hash, to show what a non-cryptographic id would leave.

The pyarrow parse and the ingest run first, alternately (``--repeat N`` runs, medians): a
subprocess started right after the in-process floors ran 15-25% slower.

Targets (issue 2): 1M pairs in under 2 minutes on 2 cores, peak RSS under 3 GB, ingest at
most 3x the bare parse time. Run:
``.venv/bin/python benchmarks/ingest.py --rows 10000 100000 1000000 --repeat 3``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipelines.ingest import RawPair, read_file, sources  # noqa: E402

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
def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def parse_pyarrow(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of pyarrow's streaming JSON reader over the file."""
    import pyarrow.json as pajson

    t, c = time.perf_counter(), _cpu()
    reader = pajson.open_json(path, read_options=pajson.ReadOptions(block_size=8 << 20))
    n = sum(batch.num_rows for batch in reader)
    assert n > 0
    return time.perf_counter() - t, _cpu() - c


def parse_polars(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of polars' NDJSON reader, every column materialised."""
    import polars as pl

    t, c = time.perf_counter(), _cpu()
    out = pl.scan_ndjson(path).select(pl.all().str.len_bytes().sum()).collect()  # a bare count could skip parsing
    assert out.height == 1
    return time.perf_counter() - t, _cpu() - c


def parse_and_write(path: Path, work: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of the same streaming parse written to a Lance table, nothing else.

    No checks, no ids, no dedup: the floor of any ingest that stores what it parses.
    """
    import lance
    import pyarrow as pa
    import pyarrow.json as pajson

    from lake.store import STORAGE_VERSION

    out = work / "floor.lance"
    shutil.rmtree(out, ignore_errors=True)
    t, c = time.perf_counter(), _cpu()
    reader = pajson.open_json(path, read_options=pajson.ReadOptions(block_size=8 << 20))
    batches = pa.RecordBatchReader.from_batches(reader.schema, reader)
    lance.write_dataset(batches, str(out), data_storage_version=STORAGE_VERSION)
    wall, cpu = time.perf_counter() - t, _cpu() - c
    shutil.rmtree(out, ignore_errors=True)
    return wall, cpu


def _keys_hashed(batch: object, hash_name: str) -> dict[str, object]:
    """The three id columns of a raw parsed batch: the ingest's own SHA-256 ids, or the same keys with xxh3-128."""
    import polars as pl
    import polars_hash as plh
    import pyarrow as pa

    from pipelines.ingest.fast import ids
    from pipelines.ingest.fast.block import TEXT_COLUMNS

    prompt, chosen, rejected = (batch.column(n).cast(pa.string()) for n in TEXT_COLUMNS)  # type: ignore[attr-defined]
    turns = [("user", prompt)]
    if hash_name == "sha256":
        pair, prompt_ids, pairset = ids.column_ids(turns, chosen, rejected)
        return {"pair_id": pa.array(pair, pa.string()), "prompt_id": prompt_ids, "pairset_id": pairset}
    keys = ids.id_keys(turns, chosen, rejected)
    out = keys.select(plh.col(k).nchash.xxh3_128().cast(pl.String) for k in keys.columns)
    return {f"{k}_id": out[k].to_arrow() for k in out.columns}


def parse_ids_write(path: Path, work: Path, hash_name: str) -> tuple[float, float]:
    """(wall, CPU) seconds of the streaming parse, the three ids of every row, and the Lance write.

    No normalisation, checks, dedup or provenance: the floor of any ingest that stores content
    ids with this key layout. ``hash_name`` "sha256" is the lake's id scheme (``lake/ids.py``,
    hashed as the fast path does); "xxh3" hashes the same keys with xxh3-128, the fastest
    hash polars-hash has, to show what a non-cryptographic scheme would leave.
    """
    import itertools

    import lance
    import pyarrow as pa
    import pyarrow.json as pajson

    from lake.store import STORAGE_VERSION

    def with_ids(reader: pa.RecordBatchReader) -> object:
        for batch in reader:
            ids = _keys_hashed(batch, hash_name)
            yield pa.RecordBatch.from_arrays([*batch.columns, *ids.values()], [*batch.schema.names, *ids])

    out = work / "floor-ids.lance"
    shutil.rmtree(out, ignore_errors=True)
    t, c = time.perf_counter(), _cpu()
    batches = with_ids(pajson.open_json(path, read_options=pajson.ReadOptions(block_size=8 << 20)))
    first = next(batches)  # type: ignore[call-overload]
    lance.write_dataset(
        pa.RecordBatchReader.from_batches(first.schema, itertools.chain([first], batches)),
        str(out), data_storage_version=STORAGE_VERSION,
    )  # fmt: skip
    wall, cpu = time.perf_counter() - t, _cpu() - c
    shutil.rmtree(out, ignore_errors=True)
    return wall, cpu


def run_ingest(path: Path, lake: Path, row_path: bool = False) -> dict[str, float]:
    cmd = [sys.executable, "-m", "prefhouse.cli", "--lake", str(lake), "ingest", str(path), "--json"]
    env = {**os.environ, "PREFHOUSE_INGEST_FAST": "0" if row_path else "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = psutil.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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


def measure(path: Path, rows: int, work: Path, gz: bool, row_path: bool, repeat: int = 1) -> dict[str, object]:
    """One scale's figures. The pyarrow parse and the ingest run first, alternately ``repeat`` times
    (medians reported): a subprocess started right after the in-process polars and Lance floors
    ran 15-25% slower (8.6-9.4 s against 7.0-7.8 s at 1M), which made the ratio look worse than it is."""
    nan = (float("nan"), float("nan"))
    lake = work / f"lake-{rows}"
    one = work / f"one-row{''.join(path.suffixes)}"  # the command's fixed cost: start-up, imports, a new lake
    with sources.open_binary(path) as fh, (gzip.open if gz else open)(one, "wb") as out:
        out.write(fh.readline())
    parses, ingests, startups = [], [], []
    for _ in range(repeat):
        parses.append(nan if gz else parse_pyarrow(path))
        shutil.rmtree(lake, ignore_errors=True)
        startups.append(run_ingest(one, lake, row_path)["wall"])
        shutil.rmtree(lake, ignore_errors=True)
        ingests.append(run_ingest(path, lake, row_path))
        shutil.rmtree(lake, ignore_errors=True)
        assert ingests[-1]["accepted"] == rows, ingests[-1]
    pa_s, pa_cpu = statistics.median(p[0] for p in parses), statistics.median(p[1] for p in parses)
    ing = {k: statistics.median(i[k] for i in ingests) for k in ("wall", "cpu", "peak_rss")}
    startup = statistics.median(startups)
    pl_s, pl_cpu = nan if gz else parse_polars(path)
    floor_s, floor_cpu = nan if gz else parse_and_write(path, work)
    sha_s, sha_cpu = nan if gz else parse_ids_write(path, work, "sha256")
    xxh_s, xxh_cpu = nan if gz else parse_ids_write(path, work, "xxh3")
    return {
        "rows": rows, "path": "row" if row_path else "fast", "file_mb": path.stat().st_size / 2**20,
        "parse_pyarrow_s": pa_s, "parse_pyarrow_cpu_s": pa_cpu, "parse_polars_s": pl_s, "parse_polars_cpu_s": pl_cpu,
        "parse_write_s": floor_s, "parse_write_cpu_s": floor_cpu, "floor_vs_pyarrow": floor_s / pa_s,
        "parse_ids_write_s": sha_s, "parse_ids_write_cpu_s": sha_cpu, "ids_floor_vs_pyarrow": sha_s / pa_s,
        "parse_xxh3_write_s": xxh_s, "parse_xxh3_write_cpu_s": xxh_cpu, "xxh3_floor_vs_pyarrow": xxh_s / pa_s,
        "startup_s": startup, "ingest_s": ing["wall"], "ingest_cpu_s": ing["cpu"], "pairs_per_s": rows / ing["wall"],
        "peak_rss_mb": ing["peak_rss"] / 2**20, "ratio_vs_pyarrow": ing["wall"] / pa_s,
        "ratio_vs_polars": ing["wall"] / pl_s, "load_avg_1m": os.getloadavg()[0],
        "runs_ingest_s": [i["wall"] for i in ingests], "runs_pyarrow_s": [p[0] for p in parses],
    }  # fmt: skip


COLUMNS = {"rows": "rows", "path": "path", "file_mb": "file MB", "parse_pyarrow_s": "pyarrow s",
           "parse_polars_s": "polars s", "parse_write_s": "parse+write s", "parse_ids_write_s": "+sha ids s",
           "parse_xxh3_write_s": "+xxh3 ids s", "startup_s": "startup s", "ingest_s": "ingest s",
           "ingest_cpu_s": "ingest cpu s", "pairs_per_s": "pairs/s", "peak_rss_mb": "peak RSS MB",
           "ratio_vs_pyarrow": "x pyarrow", "ratio_vs_polars": "x polars", "load_avg_1m": "load 1m"}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000], help="scales to measure")
    ap.add_argument("--format", choices=("flat", "hh"), default="flat", help="layout of the synthesised file")
    ap.add_argument("--gzip", action="store_true", help="write .jsonl.gz instead of .jsonl")
    ap.add_argument("--row-path", action="store_true", help="also time the row path (PREFHOUSE_INGEST_FAST=0)")
    ap.add_argument("--repeat", type=int, default=1, help="parse + ingest runs per scale (medians are reported)")
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
            for row_path in (False, True) if args.row_path else (False,):
                results.append(measure(path, rows, work, args.gzip, row_path, args.repeat))
                print(json.dumps(results[-1]), flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print("\n" + " ".join(f"{c:>12}" for c in COLUMNS.values()))
    for r in results:
        print(" ".join(f"{r[k]:>12.2f}" if isinstance(r[k], float) else f"{r[k]:>12}" for k in COLUMNS))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
