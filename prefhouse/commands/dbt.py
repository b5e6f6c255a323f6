"""``prefhouse dbt build|docs|sql`` and ``prefhouse publish``: the SQL curation of a round.

``dbt build`` runs the project in ``dbt_project/`` in-process over the lake (sources pinned at
the committed versions); ``publish`` writes the round's kept and flipped pairs to the lake
tables ``curated`` / ``flipped`` tagged ``round-N``, and only after a passing build.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from prefhouse.commands.common import open_lake
from prefhouse.configargs import add_config_args, config_from_args


@dataclass
class DbtBuildConfig:
    """Options of ``prefhouse dbt build``."""

    round: int = field(default=1, metadata={"help": "curation round N (dbt var round)"})
    stage: Literal[1, 2] = field(default=1, metadata={"help": "1: human-in-the-loop rounds; 2: the large-scale rule"})
    vars: str | None = field(
        default=None,
        metadata={"help": "more dbt vars as JSON, e.g. '{\"max_length_ratio\": 10}' (docs/dbt.md)", "metavar": "JSON"},
    )
    publish: bool = field(default=False, metadata={"help": "publish the round when the build passes"})


@dataclass
class PublishConfig:
    """Options of ``prefhouse publish``."""

    round: int = field(default=1, metadata={"help": "the round whose passing dbt build to publish"})


def _parse_vars(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        example = '{"stage1_on_disagreement": "flip"}'
        raise ValueError(f"--vars is not valid JSON ({exc}); e.g. --vars '{example}'") from exc
    if not isinstance(value, dict):
        raise ValueError("--vars must be a JSON object of dbt vars")
    return value


def run_build(args: argparse.Namespace) -> int:
    from pipelines import dbt_runner

    config = config_from_args(DbtBuildConfig, args)
    lake = open_lake(args, create=False)
    result = dbt_runner.build(lake, config.round, config.stage, vars=_parse_vars(config.vars))
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    print(f"dbt build round {result.round} stage {result.stage}: {counts}")
    print(f"marts: {result.duckdb_path}")
    if not result.success:
        for failure in result.failures:
            print(f"  FAILED {failure}")
        print("nothing published: fix the failures above and build again")
        return 1
    if config.publish:
        return _publish(lake, config.round)
    return 0


def _publish(lake: Any, round: int) -> int:
    from pipelines.publish import publish

    report = publish(lake, round)
    print(
        f"published {report.tag}: {report.n_kept} kept (curated v{report.versions['curated']}), "
        f"{report.n_flipped} flipped (flipped v{report.versions['flipped']}) of {report.n_pairs} pairs"
    )
    return 0


def run_publish(args: argparse.Namespace) -> int:
    config = config_from_args(PublishConfig, args)
    return _publish(open_lake(args, create=False), config.round)


def run_docs(args: argparse.Namespace) -> int:
    from pipelines import dbt_runner

    path = dbt_runner.docs_generate(open_lake(args, create=False))
    print(f"lineage and model docs (offline, one file): {path}")
    return 0


def run_sql(args: argparse.Namespace) -> int:
    import duckdb

    from pipelines import dbt_runner
    from prefhouse.commands.lakecmds import print_table

    path = dbt_runner.duckdb_path(open_lake(args, create=False))
    if not path.exists():
        raise FileNotFoundError(f"no marts at {path}: run `prefhouse dbt build --round N` first")
    from lake import LakeError
    from lake.sql import READ_ONLY_HINT, read_only_config

    con = duckdb.connect(str(path), read_only=True, config=read_only_config())
    try:
        result = con.sql(args.query)
        rows = result.fetchall() if result is not None else []
        columns = result.columns if result is not None else []
    except duckdb.PermissionException as exc:
        raise LakeError(f"{READ_ONLY_HINT} ({exc})") from exc
    except duckdb.Error as exc:  # one clean line, as `prefhouse sql` gives
        raise LakeError(f"SQL error: {exc}") from exc
    finally:
        con.close()
    print_table([dict(zip(columns, r, strict=True)) for r in rows], columns)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``dbt build``, ``dbt docs``, ``dbt sql`` and ``publish``."""
    dbt = sub.add_parser("dbt", help="curate a round with the SQL models of dbt_project/").add_subparsers(
        dest="dbt_command", metavar="COMMAND", required=True
    )
    p = dbt.add_parser(
        "build",
        help="dbt build (models, data tests, unit tests) for one round",
        description=(
            "Run `dbt build --vars '{round: N, stage: S}'` in-process over the lake, every source table pinned at "
            "its committed version. The marts land in <lake>/_dbt/prefhouse.duckdb. Exit 1 if a model or test fails."
        ),
    )
    add_config_args(p, DbtBuildConfig)
    p.set_defaults(func=run_build)
    p = dbt.add_parser("docs", help="dbt docs generate --static: lineage and model docs in one offline HTML file")
    p.set_defaults(func=run_docs)
    p = dbt.add_parser("sql", help="query the marts of the last build (curated_pairs, round_summary, ...)")
    p.add_argument("query", help='SQL, e.g. "select decision, count(*) from curated_pairs group by 1"')
    p.set_defaults(func=run_sql)

    p = sub.add_parser(
        "publish",
        help="publish a round's kept and flipped pairs as curated@round-N / flipped@round-N",
        description="Write the kept and flipped pairs of the last passing `prefhouse dbt build --round N` to the lake.",
    )
    add_config_args(p, PublishConfig)
    p.set_defaults(func=run_publish)
