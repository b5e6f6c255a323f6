"""Evaluate a trained run: pairwise accuracy per category, RM-Bench's grid, best-of-N, bias probes.

Metrics (one ``rm_eval`` row each: run_id, bench, subset, metric, n, value):

- ``accuracy``: share of pairs with r(chosen) > r(rejected), per category and ``all``;
- ``length_bias_accuracy``: accuracy on the pairs whose rejected response is the longer one
  (in characters): a model that just likes length fails these;
- ``longer_wins_agreement``: how often the model picks the longer response of a pair of
  unequal lengths, i.e. its agreement with a "longer wins" baseline; ``longer_wins_accuracy``
  is that baseline's own accuracy, for reference;
- RM-Bench: ``accuracy_easy`` / ``accuracy_normal`` / ``accuracy_hard`` from the 3x3 grid,
  and ``accuracy`` (the mean of the 9 cells);
- best-of-N: ``best_of_n_accuracy`` (the top-scored candidate is a correct one) and
  ``accuracy`` over every (correct, incorrect) candidate pair.

Benchmark files are read through the layout registry (:func:`pipelines.ingest.registry.read_bench`,
the same detection and parsers as ``prefhouse ingest --as-benchmark``; docs/benchmarks.md).
Results go to the ``rm_eval`` lake table and to a JSON file. :func:`evaluate` is ``prefhouse
eval``; :func:`evaluate_benches` scores one run on benchmarks already read (a round's
``eval_benchmarks`` step, with :func:`read_spread`'s per-file limit).
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.ingest.model import Rejected
from pipelines.ingest.registry import BenchItem, bench_files, read_bench
from rm.config import EvalConfig
from rm.inference import load_run, run_id_of, score_sides


class _Tally:
    """Hits and counts per (subset, metric)."""

    def __init__(self) -> None:
        self.hits: dict[tuple[str, str], float] = defaultdict(float)
        self.n: dict[tuple[str, str], int] = defaultdict(int)

    def add(self, category: str, metric: str, hit: float, n: int = 1) -> None:
        for subset in (category, "all"):
            self.hits[(subset, metric)] += hit
            self.n[(subset, metric)] += n

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"subset": s, "metric": m, "n": self.n[(s, m)], "value": self.hits[(s, m)] / self.n[(s, m)]}
            for (s, m) in sorted(self.n)
            if self.n[(s, m)]
        ]


def _pair(t: _Tally, cat: str, rc: float, rr: float, chosen: str, rejected: str) -> None:
    t.add(cat, "accuracy", float(rc > rr))
    if len(rejected) != len(chosen):
        model_picks_longer = (rc > rr) == (len(chosen) > len(rejected))
        t.add(cat, "longer_wins_agreement", float(model_picks_longer))
        t.add(cat, "longer_wins_accuracy", float(len(chosen) > len(rejected)))
    if len(rejected) > len(chosen):
        t.add(cat, "length_bias_accuracy", float(rc > rr))


def _rmbench(t: _Tally, cat: str, r: list[float]) -> None:
    chosen, rejected = r[:3], r[3:]
    for i in range(3):
        for j in range(3):
            hit = float(chosen[i] > rejected[j])
            level = "normal" if i == j else ("hard" if i < j else "easy")
            t.add(cat, f"accuracy_{level}", hit)
            t.add(cat, "accuracy", hit)


def _bon(t: _Tally, cat: str, r: list[float], correct: list[bool]) -> None:
    best = max(range(len(r)), key=lambda k: r[k])
    t.add(cat, "best_of_n_accuracy", float(correct[best]))
    good = [r[k] for k in range(len(r)) if correct[k]]
    bad = [r[k] for k in range(len(r)) if not correct[k]]
    pairs = [(g, b) for g in good for b in bad]
    if pairs:
        t.add(cat, "accuracy", sum(g > b for g, b in pairs), len(pairs))


def evaluate_items(model: Any, tokenizer: Any, items: Iterable[BenchItem], max_length: int, batch_size: int = 64):
    """Metric rows (subset, metric, n, value) for benchmark items."""
    items = list(items)
    sides = [(it.conversation, resp) for it in items for resp in it.responses]
    scores = score_sides(model, tokenizer, sides, max_length, batch_size)
    tally, pos = _Tally(), 0
    for it in items:
        r = scores[pos : pos + len(it.responses)]
        pos += len(it.responses)
        if it.kind == "pair":
            _pair(tally, it.category, r[0], r[1], it.responses[0], it.responses[1])
        elif it.kind == "rmbench":
            _rmbench(tally, it.category, r)
        else:
            _bon(tally, it.category, r, it.correct or [])
    return tally.rows()


def write_results(lake: Any, run_id: str, bench: str, rows: list[dict[str, Any]], out_json: Path | None) -> int:
    """Append the rows to ``rm_eval`` (and a JSON file); returns rm_eval's new version."""
    import pyarrow as pa

    from lake.schemas import RM_EVAL

    now = datetime.now(UTC)
    full = [{"run_id": run_id, "bench": bench, **r, "evaluated_at": now} for r in rows]
    if out_json is not None:
        out_json.parent.mkdir(parents=True, exist_ok=True)
        out_json.write_text(json.dumps({"run_id": run_id, "bench": bench, "results": rows}, indent=1))
    with lake.transaction(f"rm eval {run_id} on {bench}") as txn:
        return txn.append("rm_eval", pa.Table.from_pylist(full, schema=RM_EVAL))


def bench_name(path: str | Path, explicit: str | None = None) -> str:
    """The name a benchmark is recorded under: explicit, else the file stem or folder name."""
    p = Path(path)
    if explicit:
        return explicit
    if p.name == "dataset.json":  # LLMBar's layout: the folder names the subset
        return p.parent.name
    return p.name.split(".")[0] if p.is_file() else p.name


def spread(items: Sequence[BenchItem], limit: int | None) -> list[BenchItem]:
    """At most ``limit`` of ``items``, taken in turn from each category (in file order within one).

    A file grouped by category (EvalBiasBench's bias types) then keeps every category, where
    its first ``limit`` rows would be one or two of them. The items keep their file order.
    """
    if limit is None or len(items) <= limit:
        return list(items)
    queues: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        queues[item.category].append(i)
    picked: list[int] = []
    depth = 0
    while len(picked) < limit:
        picked += [q[depth] for q in queues.values() if depth < len(q)][: limit - len(picked)]
        depth += 1
    return [items[i] for i in sorted(picked)]


def read_spread(path: str | Path, limit: int | None = None, rejected: list[Rejected] | None = None) -> list[BenchItem]:
    """The scored items of a benchmark file or folder, at most ``limit`` per file spread over its
    categories (:func:`spread`); rows that do not parse go to ``rejected``."""
    return [item for file in bench_files(path) for item in spread(list(read_bench(file, rejected=rejected)), limit)]


def evaluate_benches(
    lake: Any,
    run_dir: str | Path,
    benches: Mapping[str, Sequence[BenchItem]],
    device: str = "auto",
    threads: int = 2,
    batch_size: int = 64,
    on_bench: Callable[[str, int, list[dict[str, Any]]], None] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Score the run in ``run_dir`` on each ``{bench name: items}``; one ``rm_eval`` write (and
    ``RUN/eval/<name>.json``) per bench, then ``on_bench(name, n_items, rows)``."""
    model, tok, run_cfg = load_run(run_dir, device, threads)
    run_id = run_id_of(run_dir)
    max_length = int(run_cfg.get("max_length", 256))
    results: dict[str, list[dict[str, Any]]] = {}
    for name, items in benches.items():
        rows = evaluate_items(model, tok, items, max_length, batch_size)
        write_results(lake, run_id, name, rows, Path(run_dir) / "eval" / f"{name}.json")
        results[name] = rows
        if on_bench is not None:
            on_bench(name, len(items), rows)
    return results


def evaluate(lake: Any, config: EvalConfig) -> dict[str, list[dict[str, Any]]]:
    """Evaluate ``config.run`` on each benchmark path (and gold); write rm_eval and JSON files."""
    from rm.data import read_gold_pairs

    model, tok, run_cfg = load_run(config.run, config.device, config.torch_threads)
    run_id = run_id_of(config.run)
    max_length = config.max_length or int(run_cfg.get("max_length", 256))
    results: dict[str, list[dict[str, Any]]] = {}
    for path in config.bench:
        name = bench_name(path, config.name)
        skipped: list[Rejected] = []
        items = read_bench(path, config.format, config.limit, rejected=skipped)
        rows = evaluate_items(model, tok, items, max_length, config.batch_size)
        if skipped:
            reasons = Counter(r.reason for r in skipped)
            print(f"prefhouse eval: {name}: {len(skipped)} rows skipped (not parsed: {dict(reasons)}; "
                  f"first: row {skipped[0].source_row}, {skipped[0].detail})", file=sys.stderr)  # fmt: skip
        out = config.out_json or Path(config.run) / "eval" / f"{name}.json"
        write_results(lake, run_id, name, rows, out)
        results[name] = rows
    if config.gold:
        gold = read_gold_pairs(lake, run_cfg.get("gold_table", "pairs"), run_cfg.get("gold_at"))
        items = [BenchItem("pair", e.conversation, [e.chosen, e.rejected], e.category or "gold") for e in gold]
        rows = evaluate_items(model, tok, items, max_length, config.batch_size)
        write_results(lake, run_id, "gold", rows, Path(config.run) / "eval" / "gold.json")
        results["gold"] = rows
    return results
