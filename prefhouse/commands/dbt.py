"""``prefhouse dbt build|docs|sql`` and ``prefhouse publish``: the SQL curation of a round.

``dbt build`` runs the project in ``dbt_project/`` in-process over the lake (sources pinned at
the committed versions); ``publish`` writes the round's kept and flipped pairs to the lake
tables ``curated`` / ``flipped`` tagged ``round-N``, and only after a passing build.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from lake.configargs import add_config_args, config_from_args
from pipelines.dbt_runner import DbtBuildConfig
from pipelines.publish import PublishConfig
from prefhouse.commands.common import add_group, open_lake
from prefhouse.commands.lakecmds import add_output_options, emit_result


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
    import pyarrow as pa

    from pipelines import dbt_runner

    lake = open_lake(args, create=False)
    columns, rows = dbt_runner.query_marts(lake, args.query)
    table = pa.Table.from_pylist([dict(zip(columns, r, strict=True)) for r in rows]) if rows else None
    return emit_result(lake, table if table is not None else pa.table({c: pa.array([]) for c in columns}), args)


def run_decontam_summary(args: argparse.Namespace) -> int:
    from pipelines import dbt_runner
    from prefhouse.commands.lakecmds import print_table

    columns, rows = dbt_runner.query_marts(
        open_lake(args, create=False),
        "select round, step_kind as counted_by, step as value, sum(n_pairs)::bigint as pairs from round_summary "
        "where step_kind in ('contaminated_by', 'contamination_rule') group by all order by all",
    )
    if not rows:
        print("no contaminated pairs in the last build (or no benchmark prompts: `prefhouse ingest --as-benchmark`)")
        return 0
    print_table([dict(zip(columns, r, strict=True)) for r in rows], columns)
    return 0


def run_decontam_explain(args: argparse.Namespace) -> int:
    from lake import LakeError
    from pipelines import dbt_runner
    from pipelines.decontam import explain

    lake = open_lake(args, create=False)
    columns, rows = dbt_runner.query_marts(
        lake,
        "select c.round, c.pair_id, c.prompt_id, c.is_contaminated, c.contaminated_by, c.contaminated_prompt_id, "
        "c.contaminated_item, "
        "c.contamination_rule, c.contamination_match, d.n_hits, d.n_benchmarks from curated_pairs c "
        "left join int_prompts_decontaminated d using (prompt_id) where c.pair_id = ?",
        [args.pair_id],
    )
    if not rows:
        raise LakeError(f"pair {args.pair_id!r} is not in the last build's curated_pairs (see `prefhouse dbt sql`)")
    print(explain(lake, dict(zip(columns, rows[0], strict=True))))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``dbt build``, ``dbt docs``, ``dbt sql`` and ``publish``."""
    dbt = add_group(sub, "dbt", "curate a round with the SQL models of dbt_project/", "COMMAND")
    p = dbt.add_parser(
        "build",
        help="dbt build (models, data tests, unit tests) for one round",
        description=(
            "Run `dbt build --vars '{round: N, stage: S}'` in-process over the lake, every source table pinned at "
            "its committed version. The marts land in <lake>/_dbt/prefhouse.duckdb (a copy per round in _dbt/rounds/), "
            "and `prefhouse sql` sees them as marts.* and marts_round_N.*. Exit 1 if a model or test fails."
        ),
    )
    add_config_args(p, DbtBuildConfig)
    p.set_defaults(func=run_build)
    p = dbt.add_parser("docs", help="dbt docs generate --static: lineage and model docs in one offline HTML file")
    p.set_defaults(func=run_docs)
    p = dbt.add_parser(
        "sql",
        help="query the marts of the last build (curated_pairs, round_summary, ...)",
        description=(
            "Query the working DuckDB file of the last dbt build, models by bare name. To join marts with lake "
            "tables and other rounds, use `prefhouse sql` (marts.curated_pairs, marts_round_N.*)."
        ),
    )
    p.add_argument("query", help='SQL, e.g. "select decision, count(*) from curated_pairs group by 1"')
    add_output_options(p)
    p.set_defaults(func=run_sql)

    decon = add_group(
        sub, "decontam", "decontamination against benchmark prompts: hits per benchmark, and why a pair was flagged"
    )
    p = decon.add_parser("summary", help="contaminated pairs of the last build per benchmark and per rule")
    p.set_defaults(func=run_decontam_summary)
    p = decon.add_parser(
        "explain",
        help="why a pair was (or was not) flagged: the benchmark, its item, the rule and the shared words",
        description=(
            "Reads the last build's marts and the lake's benchmark_prompts. Rules (docs/curation.md): ngram, the "
            "prompt and a benchmark prompt share ngram_size consecutive words; exact, a prompt shorter than that "
            "equals a benchmark prompt word for word."
        ),
    )
    p.add_argument("pair_id")
    p.set_defaults(func=run_decontam_explain)

    p = sub.add_parser(
        "publish",
        help="publish a round's kept and flipped pairs as curated@round-N / flipped@round-N",
        description="Write the kept and flipped pairs of the last passing `prefhouse dbt build --round N` to the lake.",
    )
    add_config_args(p, PublishConfig)
    p.set_defaults(func=run_publish)
