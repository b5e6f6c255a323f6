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

The evaluator reads no file: its callers hand it :class:`~lake.benchmarks.BenchItem` rows read by the
layout registry (:func:`pipelines.ingest.registry.read_bench` and ``read_spread``, the same detection
and parsers as ``prefhouse ingest --as-benchmark``; docs/benchmarks.md), which sits a layer above.
Results go to the ``rm_eval`` lake table and to a JSON file. :func:`evaluate_benches` scores one run
on benchmarks already read (and on gold): ``prefhouse eval`` (``prefhouse.commands.rm.evaluate``)
calls it, and :func:`evaluate_runs` for several runs, each on each benchmark once (a round's
``eval_benchmarks`` step).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lake.benchmarks import BenchItem
from lake.reports import Counted
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


def evaluate_benches(
    lake: Any,
    run_dir: str | Path,
    benches: Mapping[str, Iterable[BenchItem]] | Iterable[tuple[str, Iterable[BenchItem]]],
    device: str = "auto",
    threads: int = 2,
    batch_size: int = 64,
    on_bench: Callable[[str, int, list[dict[str, Any]]], None] | None = None,
    max_length: int | None = None,
    out_json: Path | None = None,
    gold: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """Score the run in ``run_dir`` on each ``{bench name: items}`` (or ``(name, items)`` pair, read as
    it is scored), then on the lake's gold pairs (bench ``gold``) with ``gold``; one ``rm_eval`` write
    (and ``out_json``, else ``RUN/eval/<name>.json``) per bench, then ``on_bench(name, n_items, rows)``.
    ``max_length``: the run's own when None."""
    model, tok, run_cfg = load_run(run_dir, device, threads)
    run_id = run_id_of(run_dir)
    max_length = max_length or int(run_cfg.get("max_length", 256))
    results: dict[str, list[dict[str, Any]]] = {}

    def one(name: str, items: Iterable[BenchItem], out: Path) -> None:
        read = list(items)
        rows = evaluate_items(model, tok, read, max_length, batch_size)
        write_results(lake, run_id, name, rows, out)
        results[name] = rows
        if on_bench is not None:
            on_bench(name, len(read), rows)

    for name, items in benches.items() if isinstance(benches, Mapping) else benches:
        one(name, items, out_json or Path(run_dir) / "eval" / f"{name}.json")
    if gold:
        from rm.data import read_gold_pairs

        pairs = read_gold_pairs(lake, run_cfg.get("gold_table", "pairs"), run_cfg.get("gold_at"))
        items = [BenchItem("pair", e.conversation, [e.chosen, e.rejected], e.category or "gold") for e in pairs]
        one("gold", items, Path(run_dir) / "eval" / "gold.json")
    return results


@dataclass
class EvalReport(Counted):
    """Runs evaluated on benchmarks, each (run, bench) once; ``lines`` say what each scored."""

    rms: int = 0
    benchmarks: int = 0
    evaluated: int = 0
    already_evaluated: int = 0
    items_scored: int = 0
    lines: list[str] = field(default_factory=list)


def evaluated(lake: Any) -> set[tuple[str, str]]:
    """(run_id, bench) pairs that ``rm_eval`` already holds."""
    t = lake.dataset("rm_eval").to_table(columns=["run_id", "bench"])
    return set(zip(t["run_id"].to_pylist(), t["bench"].to_pylist(), strict=True))


def _all(rows: list[dict[str, Any]], metric: str) -> float | None:
    return next((r["value"] for r in rows if r["subset"] == "all" and r["metric"] == metric), None)


def evaluate_runs(
    lake: Any,
    runs: Mapping[str, tuple[list[str], str]],
    benches: Mapping[str, list[BenchItem]],
    log: Callable[[str], None] = lambda line: None,
) -> EvalReport:
    """Each run of ``{run_id: (roles, run_dir)}`` on each benchmark ``rm_eval`` lacks for it; a step
    killed in the middle keeps the benchmarks it finished. ``log`` gets a line per run and benchmark."""
    done = evaluated(lake)
    report = EvalReport(rms=len(runs), benchmarks=len(benches))
    for run_id, (roles, run_dir) in runs.items():
        who = f"{'/'.join(roles)} RM {run_id}"
        todo = {name: items for name, items in benches.items() if (run_id, name) not in done}
        report.already_evaluated += len(benches) - len(todo)
        if not todo:
            log(f"{who}: already evaluated on {', '.join(benches)}")
            report.lines.append(f"{who}: already evaluated")
            continue
        log(f"{who} on {', '.join(todo)} ({sum(map(len, todo.values()))} items) ...")
        t0 = time.perf_counter()

        def on_bench(name: str, n: int, rows: list[dict[str, Any]], who: str = who, t0: float = t0) -> None:
            acc, bias = _all(rows, "accuracy"), _all(rows, "length_bias_accuracy")
            line = f"{name} accuracy {acc:.3f} on {n} items" if acc is not None else f"{name}: no scored item"
            if bias is not None:
                line += f" (length-bias accuracy {bias:.3f})"
            log(f"{who}: {line}, {time.perf_counter() - t0:.0f} s")
            report.lines.append(f"{who}: {line}")
            report.evaluated += 1
            report.items_scored += n

        evaluate_benches(lake, Path(run_dir), todo, on_bench=on_bench)
    return report
