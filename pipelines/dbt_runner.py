"""Run the dbt project of ``dbt_project/`` in-process (``dbtRunner``) against one lake.

The runner pins every source table at the lake's committed version (passed to dbt as the var
``lake_at``, which the Lance source plugin reads), keeps the DuckDB file and dbt's artifacts
under ``<lake>/_dbt/`` (one per lake, outside git), and writes ``<lake>/_dbt/last_build.json``:
round, stage, vars, the versions read, and whether the build passed. :mod:`pipelines.publish`
publishes a round only from a passing build recorded there.

Each ``build`` or ``run`` also leaves a copy of its DuckDB file per round,
``<lake>/_dbt/rounds/round_N.duckdb`` beside its record ``round_N.json`` (the round's last
build), so the marts of every round stay queryable after later rounds rebuild the working
file: :func:`round_marts` lists them, and the analyst file (:mod:`lake.sql`) serves them as
the schemas ``marts_round_N`` (and ``marts``, the last build).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lake.builds import LAST_BUILD, PROJECT_DIR, ROUNDS_DIR, dbt_dir

if TYPE_CHECKING:
    from lake import Lake

# Lake tables the dbt sources read (``curated`` is read at the previous round's tag instead).
SOURCE_TABLES = (
    "pairs",
    "pair_sources",
    "quarantine",
    "ingest_batches",
    "benchmark_prompts",
    "attributes",
    "human_labels",
    "judge_labels",
    "judge_gates",
    "prechecks",
    "neighbours",
    "retrieval_queue",
    "rm_runs",
    "rm_scores",
    "rm_eval",
    "source_trust",
    "annotator_agreement",
)


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
class BuildResult:
    """What one dbt invocation did; ``failures`` names each failed model or test and why."""

    command: str
    round: int
    stage: int
    success: bool
    vars: dict[str, Any]
    versions: dict[str, int]
    duckdb_path: str
    target_path: str
    failures: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    finished_at: str = ""


def duckdb_path(lake: Lake) -> Path:
    return dbt_dir(lake) / "prefhouse.duckdb"


def query_marts(lake: Lake, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple]]:
    """(columns, rows) of a read-only query over the marts of the last build; clean errors for the CLI."""
    import duckdb

    from lake import LakeError
    from lake.sql import READ_ONLY_HINT, one_line, open_read_only

    path = duckdb_path(lake)
    if not path.exists():
        raise LakeError(f"no marts at {path}: run `prefhouse dbt build --round N` (or a round) first")
    with open_read_only(path) as con:
        try:
            result = con.execute(sql, params or [])
            return [d[0] for d in result.description or []], result.fetchall() if result.description else []
        except duckdb.PermissionException as exc:
            raise LakeError(f"{READ_ONLY_HINT} ({one_line(exc)})") from exc
        except duckdb.Error as exc:  # one clean line, as `prefhouse sql` gives
            raise LakeError(f"SQL error: {one_line(exc)}") from exc


def pinned_versions(lake: Lake) -> dict[str, int | None]:
    """The version of every source table in one lake commit (None: never written, read as empty)."""
    with lake.reading_at():
        return {table: lake.version(table) for table in SOURCE_TABLES}


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _close_duckdb() -> None:
    """Release dbt-duckdb's process-wide connection so the file can be read (or rebuilt) next."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def _resolve(lake: Lake, lake_at: dict[str, Any]) -> dict[str, Any]:
    """Tags and numbers given for source tables become version numbers (what publish re-reads)."""
    if not isinstance(lake_at, dict):
        raise ValueError(f"var lake_at must map table names to versions or tags, got {lake_at!r}")
    return {t: (lake.dataset(t, v).version if t in SOURCE_TABLES and v is not None else v) for t, v in lake_at.items()}


def _summarise(result: Any) -> tuple[list[str], dict[str, int]]:
    failures: list[str] = []
    counts: dict[str, int] = {}
    for node_result in getattr(result, "results", None) or []:
        status = str(getattr(node_result.status, "value", node_result.status))
        key = status.replace(" ", "_")  # "runtime error" -> runtime_error: counts are identifiers
        counts[key] = counts.get(key, 0) + 1
        if status in ("error", "fail", "runtime error"):
            name = getattr(node_result.node, "name", "?")
            failures.append(f"{name}: {status}: {(node_result.message or '').strip()[:500]}")
    return failures, counts


def run_dbt(
    lake: Lake,
    command: str = "build",
    round: int = 1,
    stage: int = 1,
    vars: dict[str, Any] | None = None,
    extra_args: list[str] | None = None,
    duckdb_threads: int = 2,
) -> BuildResult:
    """Run ``dbt <command>`` (build, run, test, docs generate, ...) for one round of ``lake``."""
    from dbt.cli.main import dbtRunner

    if stage not in (1, 2):
        raise ValueError(f"stage must be 1 or 2, got {stage!r}")
    user_vars = dict(vars or {})
    lake_at = {**pinned_versions(lake), **_resolve(lake, user_vars.pop("lake_at", None) or {})}
    all_vars = {**user_vars, "round": int(round), "stage": int(stage), "lake_at": lake_at}
    target = dbt_dir(lake) / "target"
    target.mkdir(parents=True, exist_ok=True)
    args = [
        *command.split(),
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(target),
        "--log-path",
        str(dbt_dir(lake) / "logs"),
        "--vars",
        json.dumps(all_vars),
        *(extra_args or []),
    ]
    env = {
        "PREFHOUSE_LAKE": str(lake.root),
        "PREFHOUSE_DBT_DUCKDB": str(duckdb_path(lake)),
        "PREFHOUSE_DUCKDB_THREADS": str(duckdb_threads),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    with _environment(env):
        try:
            res = dbtRunner().invoke(args)
        finally:
            _close_duckdb()
    failures, counts = _summarise(res.result)
    if res.exception is not None:
        failures.append(f"dbt raised: {res.exception}")
    result = BuildResult(
        command=command,
        round=int(round),
        stage=int(stage),
        success=bool(res.success) and not failures,
        vars=all_vars,
        versions={k: v for k, v in lake_at.items() if isinstance(v, int)},
        duckdb_path=str(duckdb_path(lake)),
        target_path=str(target),
        failures=failures,
        counts=counts,
        finished_at=datetime.now(UTC).isoformat(),
    )
    if command.split()[0] in ("build", "run"):
        record = json.dumps(asdict(result), indent=1)
        (dbt_dir(lake) / LAST_BUILD).write_text(record)
        _keep_round_copy(lake, int(round), record)
    return result


def _keep_round_copy(lake: Lake, round: int, record: str) -> None:
    """Copy the working DuckDB file to ``rounds/round_N.duckdb`` (then its record): each replaced atomically."""
    src = duckdb_path(lake)
    if not src.exists():
        return
    rounds = dbt_dir(lake) / ROUNDS_DIR
    rounds.mkdir(parents=True, exist_ok=True)
    for name, write in (
        (f"round_{round}.duckdb", lambda tmp: shutil.copyfile(src, tmp)),
        (f"round_{round}.json", lambda tmp: tmp.write_text(record)),
    ):
        target = rounds / name
        tmp = target.with_name(f".{name}.tmp.{os.getpid()}")
        write(tmp)
        os.replace(tmp, target)


def refresh_analyst_file(lake: Lake, path: str | Path | None = None, full: bool = False) -> Path:
    """Bring ``<lake>/lake.duckdb`` up to the lake's commit and every round's marts (see :mod:`lake.analyst`)."""
    from lake.analyst import refresh

    return refresh(lake, round_marts(lake), path, full=full)


def round_marts(lake: Lake) -> dict[int, tuple[Path, dict[str, Any]]]:
    """Round -> (its DuckDB copy, its build record) for every round built on ``lake``."""
    rounds = dbt_dir(lake) / ROUNDS_DIR
    found: dict[int, tuple[Path, dict[str, Any]]] = {}
    for record in sorted(rounds.glob("round_*.json")) if rounds.exists() else []:
        db = record.with_suffix(".duckdb")
        if db.exists() and record.stem.removeprefix("round_").isdigit():
            found[int(record.stem.removeprefix("round_"))] = (db, json.loads(record.read_text()))
    return found


def build(
    lake: Lake, round: int, stage: int = 1, vars: dict[str, Any] | None = None, quiet: bool = False
) -> BuildResult:
    """``dbt build`` (seeds, models, tests, unit tests) for one round; ``quiet`` prints errors only."""
    return run_dbt(lake, "build", round=round, stage=stage, vars=vars, extra_args=["--quiet"] if quiet else None)


def docs_generate(lake: Lake, round: int = 1) -> Path:
    """``dbt docs generate --static``: one self-contained HTML file that opens offline."""
    result = run_dbt(lake, "docs generate", round=round, extra_args=["--static"])
    if not result.success:
        raise RuntimeError("dbt docs generate failed: " + "; ".join(result.failures))
    return Path(result.target_path) / "static_index.html"
