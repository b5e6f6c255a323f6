"""Curation commands: ``round run``, ``round status``, ``validate``, ``report``, ``demo``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lake.configargs import add_config_args, config_from_args
from prefhouse.commands.common import add_group, add_json_flag, open_lake


def register(sub: argparse._SubParsersAction) -> None:
    from pipelines.rounds.config import RoundConfig

    rsub = add_group(sub, "round", "run curation rounds (Stage 1 / Stage 2) and see their steps", "SUBCOMMAND")
    p = rsub.add_parser(
        "run",
        help="run or resume round N of stage 1 or 2",
        description=(
            "Run a round's steps in order, each recorded in round_steps (inputs and outputs as lake versions, "
            "counts). Re-running a round redoes only the steps that did not finish. A failing quality gate "
            "(or dbt build) blocks the publish and leaves the previous round's tag where it was. With no LLM "
            "backend configured (OPENAI_BASE_URL), judging is skipped and the round says so."
        ),
    )
    add_config_args(p, RoundConfig)
    p.set_defaults(func=run_round_cmd)
    p = rsub.add_parser("status", help="the latest record of every step of every round")
    p.add_argument("--round", type=int, default=None, help="only this round")
    add_json_flag(p)
    p.set_defaults(func=status_cmd)

    p = sub.add_parser(
        "validate",
        help="run the Great Expectations quality gate over the lake alone",
        description=(
            "Validate pairs, attributes, human/judge labels, RM scores (and, with --round, the published "
            "curated/flipped sets and the curated_pairs mart of the last dbt build) with the expectation suites. "
            "Writes results.json and index.html under <lake>/_quality/NAME/. Exit code 1 when an expectation fails."
        ),
    )
    p.add_argument("--round", type=int, default=None, help="also validate this round's published sets and mart")
    p.add_argument("--name", default=None, help="results folder name (default: validate or validate-round-N)")
    p.set_defaults(func=validate_cmd)

    p = sub.add_parser("report", help="write a round's self-contained HTML report (offline, inline SVG plots)")
    p.add_argument("--round", type=int, required=True, help="the round to report on")
    p.add_argument("--out", type=Path, default=None, help="HTML file (default: <lake>/_reports/round-N/report.html)")
    p.set_defaults(func=report_cmd)

    p = sub.add_parser(
        "demo",
        help="ingest the shipped sample data and run two Stage-1 rounds and one Stage-2 round",
        description="The whole loop on data/ in a fresh lake, on CPU, with progress; prints where everything is.",
    )
    from pipelines.demo import DemoConfig

    add_config_args(p, DemoConfig)
    p.set_defaults(func=demo_cmd)


def run_round_cmd(args: argparse.Namespace) -> int:
    from pipelines.rounds.config import RoundConfig
    from pipelines.rounds.plan import run_configured_round

    cfg = config_from_args(RoundConfig, args)
    outcome = run_configured_round(open_lake(args), cfg)
    print(f"round {outcome.round} stage {outcome.stage}: {outcome.status}")
    if outcome.message:
        print(outcome.message)
    return 0 if outcome.status == "done" else 1


def status_cmd(args: argparse.Namespace) -> int:
    from pipelines.rounds import round_status

    rows = [r for r in round_status(open_lake(args)) if args.round is None or r["round"] == args.round]
    if args.json:
        print(json.dumps(rows, default=str, indent=1))
        return 0
    if not rows:
        print("no rounds yet: `prefhouse round run --round 1 --stage 1`")
    for r in rows:
        took = (r["finished_at"] - r["started_at"]).total_seconds()
        width = 400 if r["step"] == "config" else 90  # the config row says what differs from the defaults
        msg = (r["message"] or "").splitlines()[0][:width] if r["message"] else ""
        print(
            f"round {r['round']} stage {r['stage']} {r['step']:<12} {r['status']:<8} {took:7.1f}s {r['counts']} {msg}"
        )
    return 0


def validate_cmd(args: argparse.Namespace) -> int:
    from expectations import run_gate
    from expectations.checkpoint import LAKE_TABLES
    from expectations.frames import mart_frame, table_frame

    lake = open_lake(args, create=False)
    extra = {}
    if args.round is not None:
        from lake.builds import marts_file

        tag = f"round-{args.round}"
        for table in ("curated", "flipped"):
            extra[table] = table_frame(lake, table, tag if tag in lake.tags(table) else None, round=args.round)
        if (marts := marts_file(lake, args.round)) is not None:
            extra["curated_pairs"] = mart_frame(marts, args.round)
    name = args.name or ("validate" if args.round is None else f"validate-round-{args.round}")
    result = run_gate(lake, name, tables=LAKE_TABLES, extra_frames=extra)
    print(result.summary())
    print(f"results: {result.html_path}")
    return 0 if result.passed else 1


def report_cmd(args: argparse.Namespace) -> int:
    from lake.builds import marts_file
    from pipelines.report import write_report
    from pipelines.report.collect import collect, load, report_dir

    lake = open_lake(args, create=False)
    saved = load(lake, args.round)
    # The marts hold the last build only: re-collect when they are this round's, else use the saved data.
    data = collect(lake, args.round) if marts_file(lake, args.round) is not None or saved is None else saved
    out = args.out or report_dir(lake, args.round) / "report.html"
    write_report(data, out)
    print(f"report: {out.resolve()}")
    return 0


def demo_cmd(args: argparse.Namespace) -> int:
    from pipelines.demo import DemoConfig, run_demo

    cfg = config_from_args(DemoConfig, args)
    return run_demo(open_lake(args), cfg, out=sys.stdout)
