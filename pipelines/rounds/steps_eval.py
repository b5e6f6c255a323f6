"""The round's benchmark evaluation: each RM that plays a role in the round, on the benchmark
files the round config names (``--eval-benchmarks``), into ``rm_eval``.

Roles are the round's facts (the silver RM of Stage 1, the gold and best RMs of Stage 2) and
``source_trust`` records them per round; ``rm_eval`` keeps its columns (run_id, bench, ...) and
a round's rows are the rows of the runs that play a role in it
(:func:`pipelines.report.benchmarks.benchmark_rows`: rm_eval joined to source_trust on run_id).
A run is scored once per benchmark: the best RM of Stage 2 is a Stage-1 silver RM, already
evaluated in its own round, and a step killed in the middle keeps the benchmarks it finished.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pipelines.rounds.step import RoundContext, Step, StepFailed, StepResult

ROLES = ("silver", "gold", "best")


def named_benchmarks(entries: Sequence[str | Path]) -> dict[str, Path]:
    """``{bench name: path}`` of ``--eval-benchmarks`` entries: ``NAME=PATH``, or a path named as
    ``prefhouse eval`` names it (file stem; for LLMBar's ``dataset.json``, its folder)."""
    from pipelines.ingest.registry import bench_files
    from rm.evaluate import bench_name

    out: dict[str, Path] = {}
    for entry in entries:
        text, explicit = str(entry), None
        path = Path(text)
        if "=" in text and not path.exists():
            explicit, _, rest = text.partition("=")
            path = Path(rest)
        if not path.exists():
            raise FileNotFoundError(f"--eval-benchmarks: no file or folder {path}")
        name = bench_name(path, explicit or None)
        if name == "gold":
            raise ValueError(f"--eval-benchmarks: {path} would be named 'gold', which rm_eval keeps for gold pairs")
        if name in out:
            raise ValueError(f"--eval-benchmarks: {out[name]} and {path} are both named {name!r}: name one NAME=PATH")
        if not bench_files(path):
            raise ValueError(f"--eval-benchmarks: no benchmark file under {path}")
        out[name] = path
    return out


def round_runs(ctx: RoundContext) -> dict[str, tuple[list[str], str]]:
    """``{run_id: (roles, run_dir)}`` of the RMs this round trained or picked."""
    out: dict[str, tuple[list[str], str]] = {}
    for role in ROLES:
        run_id, run_dir = ctx.fact(f"{role}_run_id"), ctx.fact(f"{role}_run_dir")
        if run_id and run_dir:
            out.setdefault(run_id, ([], run_dir))[0].append(role)
    return out


class EvalBenchmarks(Step):
    """Evaluate each RM of the round on ``--eval-benchmarks`` (``rm_eval``); skipped without them."""

    name, reads, writes = "eval_benchmarks", ("rm_runs", "rm_eval"), ("rm_eval",)

    def run(self, ctx: RoundContext) -> StepResult:
        entries = ctx.config.eval_benchmarks
        if not entries:
            return StepResult(status="skipped", message="no --eval-benchmarks: the RMs are measured on gold only")
        runs = round_runs(ctx)
        if not runs:
            return StepResult(status="skipped", message="no reward model this round")
        from pipelines.ingest.model import Rejected
        from pipelines.ingest.registry import read_spread
        from rm.evaluate import evaluate_runs

        try:
            paths = named_benchmarks(entries)
        except (FileNotFoundError, ValueError) as exc:
            raise StepFailed(str(exc)) from exc
        limit = ctx.config.eval_limit
        items = {}
        for name, path in paths.items():
            skipped: list[Rejected] = []
            items[name] = read_spread(path, limit, rejected=skipped)
            if skipped:
                reasons = dict(Counter(r.reason for r in skipped))
                print(f"eval_benchmarks: {name}: {len(skipped)} rows skipped (not parsed: {reasons})", file=sys.stderr)
        empty = sorted(name for name, its in items.items() if not its)
        items = {name: its for name, its in items.items() if its}
        report = evaluate_runs(ctx.lake, runs, items, lambda line: ctx.log(f"[round {ctx.round}] eval {line}"))
        message = "; ".join(report.lines)
        if empty:
            message += f"; no scored item in {', '.join(empty)}"
        roles = {role: run_id for run_id, (rs, _) in runs.items() for role in rs}
        facts = {"eval_benchmarks": sorted(items), "eval_runs": roles}
        return StepResult(counts=report.counts, facts=facts, message=message)
