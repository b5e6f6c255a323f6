"""Lake commands: ``sql``, ``tables``, ``history``, ``tag``, ``reclaim``, ``db refresh``, ``snapshot export``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lake.export import LAYOUTS
from prefhouse.commands.common import add_group, add_json_flag, open_lake

CELL = 60  # table output truncates cells to this many characters


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sql",
        help="run a DuckDB query over the lake's tables",
        description=(
            "Run DuckDB SQL over the lake tables by name. Query an older version or tag as a quoted identifier: "
            '"pairs@round-3" or "pairs@12". The marts of each round\'s dbt build are there too: marts.curated_pairs '
            "(the last build), marts_round_3.curated_pairs (round 3's last build), and _marts_builds says which is "
            "which. The same names work in any DuckDB client opened on <lake>/lake.duckdb. Read-only; extensions "
            "are never downloaded."
        ),
    )
    p.add_argument("query", help='SQL, e.g. "select source, count(*) from pairs group by 1"')
    add_output_options(p)
    p.set_defaults(func=run_sql)

    p = sub.add_parser("tables", help="list the lake's tables: committed version, rows, the tags of that version")
    add_json_flag(p)
    p.set_defaults(func=run_tables)

    p = sub.add_parser("history", help="list every version of a table")
    p.add_argument("table")
    add_json_flag(p)
    p.set_defaults(func=run_history)

    p = sub.add_parser("tag", help="name a version of a table (moves an existing tag)")
    p.add_argument("table")
    p.add_argument("name", help="tag name, e.g. round-3")
    p.add_argument("--version", type=int, default=None, help="version to tag (default: the committed one)")
    p.set_defaults(func=run_tag)

    p = sub.add_parser(
        "reclaim",
        help="remove files no committed version references (what crashed or failed writes left behind)",
        description=(
            "Remove the versions a rolled-back write left and the data files no version references. Every "
            "committed and tagged version stays readable. Takes the writer lock (ingests wait, readers do not). "
            "Writers run this themselves after rolling back a crash; use it to check or to clean an old lake."
        ),
    )
    add_json_flag(p)
    p.set_defaults(func=run_reclaim)

    db = add_group(sub, "db", "the analyst DuckDB file <lake>/lake.duckdb")
    p = db.add_parser(
        "refresh",
        help="rebuild <lake>/lake.duckdb: every table, tagged version and round's marts",
        description=(
            "Rebuild the analyst file from nothing: the committed version of every table, each tagged version "
            'as "table@tag", and the marts of each round\'s last dbt build (schemas marts_round_N; marts = the '
            "last build). Every command that commits or builds keeps it current by itself "
            "(PREFHOUSE_ANALYST_FILE=off turns that off); this is the manual repair."
        ),
    )
    p.add_argument("--out", default=None, help="write to this file instead of <lake>/lake.duckdb")
    p.set_defaults(func=run_db_refresh)

    snap = add_group(sub, "snapshot", "snapshots of lake tables for training jobs")
    p = snap.add_parser(
        "export",
        help="export a table at a tag or version in a layout reward trainers read (TRL, OpenRLHF, text)",
        description=(
            "Write <out>/<table>.<format>, snapshot.json and a dataset card README.md. Pairs-like tables "
            "(pairs, curated, flipped) are written in --layout, ties left out, then pair_id and the provenance "
            "columns; other tables as they are. docs/lake.md shows a row of each layout."
        ),
    )
    p.add_argument("--table", default="pairs", help="table to export (default: pairs)")
    at = p.add_mutually_exclusive_group()
    at.add_argument("--tag", default=None, help="tag to read, e.g. round-3")
    at.add_argument("--version", type=int, default=None, help="version number to read")
    p.add_argument("--format", choices=("parquet", "jsonl"), default="parquet")
    p.add_argument(
        "--layout",
        choices=tuple(LAYOUTS),
        default=None,
        help="trl (default): TRL conversational, prompt = the conversation, chosen/rejected = the final "
        "assistant turn; trl-implicit: chosen/rejected = the whole conversation; openrlhf: OpenRLHF's default "
        "keys (with --data.apply_chat_template); text: plain-text prompt + replies",
    )
    p.add_argument(
        "--margin",
        action="store_true",
        help="add a margin column (TRL and OpenRLHF put it in the loss): the round's RM margin clipped "
        "below at 0, null as 0 (docs/lake.md)",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=run_export)


def _cell(value: Any) -> str:
    if isinstance(value, (list, dict)):
        text = json.dumps(value, default=str, ensure_ascii=False)
    else:
        text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= CELL else text[: CELL - 1] + "…"


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    cells = [[_cell(r[c]) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    print(f"({len(rows)} rows)")


def add_output_options(p: argparse.ArgumentParser) -> None:
    """``--format`` and ``--out``, the same on every SQL command."""
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    p.add_argument(
        "--out",
        default=None,
        help="save the result to this file instead (.parquet, .csv or .jsonl; never inside the lake): "
        "the only way SQL writes anything, since queries cannot write, attach or read files",
    )


def run_sql(args: argparse.Namespace) -> int:
    from lake.sql import query

    lake = open_lake(args, create=False)
    return emit_result(lake, query(lake, args.query), args)


def emit_result(lake: Any, result: Any, args: argparse.Namespace) -> int:
    """Print an Arrow result as ``--format`` says, or save it to ``--out``."""
    from lake.sql import write_result

    if args.out:
        table = _stringify_nested(result) if str(args.out).lower().endswith(".csv") else result
        print(f"{result.num_rows} rows -> {write_result(lake, table, args.out)}")
    elif args.format == "csv":
        import pyarrow.csv as pacsv

        sys.stdout.flush()
        pacsv.write_csv(_stringify_nested(result), sys.stdout.buffer)
    elif args.format == "json":
        print(json.dumps(result.to_pylist(), default=str, ensure_ascii=False, indent=1))
    else:
        print_table(result.to_pylist(), result.column_names)
    return 0


def _stringify_nested(table: Any) -> Any:
    """CSV cannot hold lists/structs: write them as JSON text."""
    import pyarrow as pa

    cols = []
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_nested(col.type):
            col = pa.array([None if v is None else json.dumps(v, default=str) for v in col.to_pylist()], pa.string())
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def run_tables(args: argparse.Namespace) -> int:
    lake = open_lake(args, create=False)
    rows = []
    with lake.reading_at():
        for table in lake.tables():
            ds = lake.dataset(table)
            tags = sorted(n for n, info in lake.tags(table).items() if int(info["version"]) == ds.version)
            rows.append({"table": table, "version": ds.version, "rows": ds.count_rows(), "tags": ", ".join(tags)})
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print_table(rows, ["table", "version", "rows", "tags"])
    return 0


def run_reclaim(args: argparse.Namespace) -> int:
    report = open_lake(args, create=False).reclaim()
    rows = [
        {"table": t, "versions removed": r["versions"], "bytes removed": r["bytes"]} for t, r in report.tables.items()
    ]
    if args.json:
        print(json.dumps({"bytes_removed": report.bytes_removed, "tables": report.tables}, indent=1))
    elif rows:
        print_table(rows, ["table", "versions removed", "bytes removed"])
        print(f"reclaimed {report.bytes_removed / 2**20:.1f} MiB")
    else:
        print("nothing to reclaim: every file belongs to a committed version")
    return 0


def run_history(args: argparse.Namespace) -> int:
    rows = open_lake(args, create=False).history(args.table)
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
    else:
        for r in rows:
            r["tags"] = ", ".join(r["tags"])
            r["is_current"] = "*" if r["is_current"] else ""
        print_table(rows, ["version", "timestamp", "rows", "tags", "is_current"])
    return 0


def run_tag(args: argparse.Namespace) -> int:
    version = open_lake(args, create=False).tag(args.table, args.name, args.version)
    print(f"tagged {args.table} version {version} as {args.name}")
    return 0


def run_db_refresh(args: argparse.Namespace) -> int:
    from pipelines.dbt_runner import refresh_analyst_file

    path = refresh_analyst_file(open_lake(args, create=False), args.out, full=True)
    print(f"wrote {path} (the committed tables, tagged versions and round marts; kept current by every command)")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from lake.snapshot import open_snapshot

    at = args.tag if args.tag is not None else args.version
    snap = open_snapshot(open_lake(args, create=False), args.table, at)
    target = snap.export(args.out, args.format, args.layout, args.margin)
    info = json.loads((target.parent / "snapshot.json").read_text())
    ties = f", {info['ties_left_out']} ties left out" if info.get("ties_left_out") else ""
    print(f"exported {snap.ref} ({info['rows']} rows{ties}, layout {info['layout']}) to {target}")
    print(f"dataset card: {target.parent / 'README.md'}")
    return 0
