"""Where a lake keeps its dbt builds, and the records of them (the runner writes, anyone reads).

``<lake>/_dbt/`` holds the working DuckDB file and dbt's artifacts; ``last_build.json`` records
the last build; ``rounds/round_N.json`` (beside ``round_N.duckdb``) records round N's last
build. :mod:`pipelines.dbt_runner` writes them; the dataset card, publish and the analyst file
read them through here, so nothing in the lake layer reaches up into the pipelines.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lake.store import Lake

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"  # the dbt project of the repo
LAST_BUILD = "last_build.json"
ROUNDS_DIR = "rounds"


def dbt_dir(lake: Lake) -> Path:
    """Where the DuckDB file and dbt's artifacts for ``lake`` live."""
    return lake.root / "_dbt"


def last_build(lake: Lake) -> dict[str, Any] | None:
    """The record of the last ``dbt build`` on ``lake``, or None."""
    path = dbt_dir(lake) / LAST_BUILD
    return json.loads(path.read_text()) if path.exists() else None


def round_build(lake: Lake, round: int) -> dict[str, Any] | None:
    """The record of round ``round``'s last build (its copy under ``rounds/``, else the last build
    if that is of this round), or None when the lake has none."""
    path = dbt_dir(lake) / ROUNDS_DIR / f"round_{round}.json"
    if path.exists():
        return json.loads(path.read_text())
    build = last_build(lake)
    return build if build is not None and int(build.get("round", -1)) == round else None


def marts_file(lake: Lake, round: int, successful: bool = False) -> Path | None:
    """The DuckDB file whose marts are round ``round``'s: the last build's, when that build is this round's.

    None when the lake has no build, the last build was of another round (the working marts hold
    one build at a time), it failed (with ``successful``), or its file is gone. Every reader that
    must not mistake another round's marts for this round's asks here.
    """
    build = last_build(lake)
    if build is None or int(build.get("round", -1)) != round or (successful and not build.get("success")):
        return None
    path = Path(build["duckdb_path"])
    return path if path.exists() else None
