"""Pull the frames the suites validate: DuckDB over the lake's Lance tables, into pandas.

GX's SQL path over DuckDB returns empty metrics (stack notes), so the gate validates
pandas frames. DuckDB computes the derived columns the suites need (lengths, flags)
with projection pushdown, so the long texts never reach pandas.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    import pandas as pd

    from lake import Lake

# One SELECT per frame over a view named ``t``; ``{round_filter}`` narrows per-round tables.
FRAME_SQL: dict[str, str] = {
    "pairs": """
        select pair_id, prompt_id, pairset_id, source, label_origin, is_tie,
               length(chosen) as chosen_chars, length(rejected) as rejected_chars,
               len(conversation) as n_turns, chosen = rejected as is_identical
        from t""",
    "attributes": """
        select pair_id, status, task_category, objectivity, controversiality, model, template_version
        from t""",
    "human_labels": """
        select label_id, pair_id, round, annotator, verdict, origin, is_chosen_shown_first,
               -- imported labels have no shown order: they count as balanced (0.5), not as a bias
               coalesce(cast(is_chosen_shown_first as double), 0.5) as shown_first
        from t""",
    "judge_labels": """
        select pair_id, round, model, template_version, sample, vote, is_chosen_shown_first,
               n_demonstrations, cast(is_chosen_shown_first as double) as shown_first
        from t""",
    "rm_scores": """
        select run_id, pair_id, reward_chosen, reward_rejected, margin, p,
               isfinite(margin) and isfinite(reward_chosen) and isfinite(reward_rejected) as is_finite,
               abs(reward_chosen - reward_rejected - margin) as margin_error
        from t""",
    "curated": """
        select round, pair_id, label_provenance, source, margin,
               length(chosen) as chosen_chars, length(rejected) as rejected_chars,
               chosen = rejected as is_identical,
               cast(length(chosen) > length(rejected) as double) as chosen_is_longer,
               list_has_any(coalesce(reasons, []::varchar[]), {filter_codes}) as has_filter_reason
        from t {round_filter}""",
}
FRAME_SQL["flipped"] = FRAME_SQL["curated"]

MART_SQL = """
    select round, pair_id, decision, cast(decision = 'keep' as double) as is_kept
    from {relation} {round_filter}"""

# The pre-filter reason codes of curated_pairs: none may appear on a published pair.
FILTER_CODES = [
    "tie", "exact_duplicate", "conflict", "empty_side", "identical_responses", "truncated_response",
    "extreme_length_ratio", "contaminated", "near_duplicate", "task_category_filtered", "objectivity_filtered",
    "controversiality_filtered", "human_discarded",
]  # fmt: skip


def _sql(name: str, round: int | None) -> str:
    round_filter = f"where round = {int(round)}" if round is not None else ""
    codes = "[" + ", ".join(f"'{c}'" for c in FILTER_CODES) + "]"
    return FRAME_SQL[name].format(round_filter=round_filter, filter_codes=codes)


def connect() -> Any:
    """A DuckDB connection that never tries to download an extension."""
    import duckdb

    return duckdb.connect(config={"autoinstall_known_extensions": False, "threads": 2})


def table_frame(lake: Lake, name: str, version: int | str | None = None, round: int | None = None) -> pd.DataFrame:
    """The frame of lake table ``name`` (at ``version``, or the committed one)."""
    if name not in FRAME_SQL:
        raise ValueError(f"no frame defined for table {name!r} (known: {', '.join(sorted(FRAME_SQL))})")
    dataset = lake.dataset(name, version)
    con = connect()
    try:
        con.register("t", dataset)
        return con.sql(_sql(name, round)).df()
    finally:
        con.close()


def published_frame(rows: pa.Table) -> pd.DataFrame:
    """The ``curated`` frame of rows about to be published (kept or flipped, CURATED layout)."""
    con = connect()
    try:
        con.register("t", rows)
        return con.sql(_sql("curated", None)).df()
    finally:
        con.close()


def raw_longer_share(lake: Lake) -> float | None:
    """Share of the pool's non-tie pairs whose chosen response is the longer one."""
    con = connect()
    try:
        con.register("t", lake.dataset("pairs"))
        (share,) = con.sql("select avg((length(chosen) > length(rejected))::double) from t where not is_tie").fetchone()
        return None if share is None else float(share)
    finally:
        con.close()


def pool_pass_rate(database: str | Path, round: int) -> float | None:
    """Share of the round's decided pairs that no pre-filter dropped: the kept-fraction baseline of a first round."""
    import duckdb

    con = duckdb.connect(str(database), read_only=True, config={"autoinstall_known_extensions": False})
    try:
        (rate,) = con.sql(
            f"select avg((decision_rule <> 'filter')::double) from curated_pairs where round = {int(round)}"
        ).fetchone()
        return None if rate is None else float(rate)
    finally:
        con.close()


def mart_frame(database: str | Path, round: int | None = None, relation: str = "curated_pairs") -> pd.DataFrame:
    """The ``curated_pairs`` mart of a dbt DuckDB database (read-only), for one round."""
    from lake.sql import open_read_only

    path = Path(database)
    if not path.exists():
        raise FileNotFoundError(f"no dbt database at {path}: run `prefhouse dbt build --round N` first")
    with open_read_only(path) as con:
        round_filter = f"where round = {int(round)}" if round is not None else ""
        return con.sql(MART_SQL.format(relation=relation, round_filter=round_filter)).df()


def arrow_schema_drift(lake: Lake, name: str) -> list[str]:
    """Differences between a lake table's Arrow schema and the record contract (empty when none)."""
    from lake.schemas import TABLES

    expected = TABLES.get(name)
    if expected is None:
        return []
    actual = lake.dataset(name).schema
    problems = []
    for f in expected:
        if f.name not in actual.names:
            problems.append(f"column {f.name!r} is missing")
        elif not actual.field(f.name).type.equals(f.type):
            problems.append(f"column {f.name!r} is {actual.field(f.name).type}, the contract says {f.type}")
    return problems
