"""The quality gate: validate lake frames with the suites and say which expectation failed where.

:func:`run_gate` validates each frame with its suite through one ephemeral GX context
(a ValidationDefinition per suite, a pandas dataframe asset per frame), then flattens
the results into :class:`Failure` rows that name the table, the expectation, its
arguments, how many rows failed and a sample of their ``pair_id``. An empty frame runs
only its schema checks. Results are written as JSON and a small offline HTML page
under ``<lake>/_quality/<name>/`` (outputs, never committed: the lake root is not in git).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from expectations.suites import KEPT_FRACTION_TOLERANCE, SuiteSpec, all_suites
from lake.offline import use_offline_env

if TYPE_CHECKING:
    import pandas as pd

    from lake import Lake

SAMPLE_IDS = 20
LAKE_TABLES = ("pairs", "attributes", "human_labels", "judge_labels", "rm_scores")


@dataclass
class Failure:
    """One failed expectation on one frame."""

    table: str
    expectation: str
    kwargs: dict[str, Any]
    unexpected_count: int | None = None
    observed: Any = None
    sample_ids: list[str] = field(default_factory=list)

    def describe(self) -> str:
        where = f" on {self.unexpected_count} rows" if self.unexpected_count else ""
        obs = f" (observed {self.observed})" if self.observed is not None else ""
        ids = f"; e.g. {', '.join(self.sample_ids[:5])}" if self.sample_ids else ""
        args = ", ".join(f"{k}={v}" for k, v in self.kwargs.items() if k not in ("batch_id",))
        return f"{self.table}: {self.expectation}({args}) failed{where}{obs}{ids}"


@dataclass
class GateResult:
    """The outcome of one checkpoint run."""

    name: str
    passed: bool
    tables: dict[str, dict[str, Any]]  # per frame: rows, checks run, checks failed
    failures: list[Failure]
    run_at: str
    json_path: str | None = None
    html_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def counts(self) -> dict[str, int]:
        """A round step's counts of this run: frames checked, expectations failed."""
        return {"frames": len(self.tables), "failed_expectations": len(self.failures)}

    def summary(self) -> str:
        head = f"quality gate {self.name}: {'PASSED' if self.passed else 'FAILED'}"
        lines = [head] + [f"  {f.describe()}" for f in self.failures]
        return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _sample_ids(result: dict[str, Any], id_columns: list[str]) -> list[str]:
    ids: list[str] = []
    for row in result.get("unexpected_index_list") or []:
        if isinstance(row, dict):
            ids.append(str(row.get(id_columns[0], row)))
        if len(ids) >= SAMPLE_IDS:
            break
    return list(dict.fromkeys(ids))


def _validate(context: Any, spec: SuiteSpec, frame: pd.DataFrame) -> tuple[int, list[Failure]]:
    import great_expectations as gx

    checks = [c for c in spec.checks if c.schema or len(frame) > 0]
    suite = gx.ExpectationSuite(name=f"{spec.name}_suite")
    for check in checks:
        suite.add_expectation(check.expectation)
    suite = context.suites.add(suite)
    asset = context.data_sources.add_pandas(f"src_{spec.name}").add_dataframe_asset(spec.name)
    batch_def = asset.add_batch_definition_whole_dataframe("all")
    vd = context.validation_definitions.add(gx.ValidationDefinition(name=f"v_{spec.name}", data=batch_def, suite=suite))
    id_columns = [c for c in spec.id_columns if c in frame.columns] or list(frame.columns[:1])
    fmt = {"result_format": "COMPLETE", "unexpected_index_column_names": id_columns}
    result = vd.run(batch_parameters={"dataframe": frame}, result_format=fmt)
    failures = []
    for r in result.results:
        if r.success:
            continue
        cfg = r.expectation_config
        res = r.result or {}
        kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id", "result_format")}
        exc = r.exception_info or {}
        observed = res.get("observed_value")
        if isinstance(exc, dict) and exc.get("raised_exception"):
            observed = f"error: {exc.get('exception_message')}"
        failures.append(
            Failure(
                table=spec.name,
                expectation=cfg.type,
                kwargs=_jsonable(kwargs),
                unexpected_count=res.get("unexpected_count"),
                observed=_jsonable(observed),
                sample_ids=_sample_ids(res, id_columns),
            )
        )
    return len(checks), failures


def validate_frames(frames: dict[str, pd.DataFrame], suites: dict[str, SuiteSpec], name: str = "adhoc") -> GateResult:
    """Validate each frame with the suite of the same name; no files are written."""
    use_offline_env()
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    _quiet(context)
    tables: dict[str, dict[str, Any]] = {}
    failures: list[Failure] = []
    for table, frame in frames.items():
        if table not in suites:
            raise ValueError(f"no suite for frame {table!r} (suites: {', '.join(sorted(suites))})")
        n_checks, failed = _validate(context, suites[table], frame)
        tables[table] = {"rows": len(frame), "checks": n_checks, "failed": len(failed)}
        failures.extend(failed)
    return GateResult(
        name=name, passed=not failures, tables=tables, failures=failures, run_at=datetime.now(UTC).isoformat()
    )


def _quiet(context: Any) -> None:
    """GX draws a tqdm bar per validation: noise in a round's log."""
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # the bars are cosmetic; never fail a gate on them
        pass


def lake_frames(lake: Lake, tables: tuple[str, ...] = LAKE_TABLES, round: int | None = None) -> dict[str, pd.DataFrame]:
    """Frames of the lake tables at their committed versions (``round`` narrows curated/flipped)."""
    from expectations.frames import table_frame

    return {t: table_frame(lake, t, round=round if t in ("curated", "flipped") else None) for t in tables}


def run_gate(
    lake: Lake,
    name: str,
    *,
    tables: tuple[str, ...] = LAKE_TABLES,
    extra_frames: dict[str, pd.DataFrame] | None = None,
    previous_kept_fraction: float | None = None,
    taxonomy: list[str] | None = None,
    kept_tolerance: float = KEPT_FRACTION_TOLERANCE,
    raw_longer_share: float | None = None,
    write: bool = True,
) -> GateResult:
    """The checkpoint: validate the lake tables (plus ``extra_frames`` such as the mart) and write results."""
    from expectations.frames import arrow_schema_drift

    frames = lake_frames(lake, tables)
    frames.update(extra_frames or {})
    suites = all_suites(previous_kept_fraction, taxonomy, kept_tolerance, raw_longer_share)
    result = validate_frames(frames, suites, name=name)
    for table in tables:  # the Arrow contract itself, which GX cannot see through pandas
        for problem in arrow_schema_drift(lake, table):
            result.failures.append(
                Failure(table=table, expectation="schema_matches_record_contract", kwargs={}, observed=problem)
            )
    result.passed = not result.failures
    if write:
        from expectations.render import write_results

        write_results(result, results_dir(lake, name))
    return result


def results_dir(lake: Lake, name: str) -> Path:
    """Where a checkpoint's JSON and HTML go: inside the lake root, outside git."""
    return lake.root / "_quality" / name


def load_result(lake: Lake, name: str) -> dict[str, Any] | None:
    path = results_dir(lake, name) / "results.json"
    return json.loads(path.read_text()) if path.exists() else None
