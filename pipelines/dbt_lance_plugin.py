"""A dbt-duckdb source plugin that reads lake tables (Lance datasets) without copying.

``profiles.yml`` loads it as ``pipelines.dbt_lance_plugin`` (alias ``lance``); a source with
``meta: {plugin: lance}`` is registered in DuckDB as the table's Lance dataset, which DuckDB
scans as an Arrow dataset with projection and filter pushdown. The version read is, in order:
the source's ``meta.version`` (a number or a tag, usually rendered from the dbt var
``lake_at``), else the lake's committed version (the manifest pins it), so a build never sees a
half-written ingest. A known table that does not exist yet is created empty from
:mod:`lake.schemas`; ``meta.missing_ok`` turns an unknown version or tag into an empty table
(the previous round's publication before round 1 exists).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

try:  # dbt-duckdb is only importable where dbt is installed; this module is only loaded by it
    from dbt.adapters.duckdb.plugins import BasePlugin
except ImportError:  # pragma: no cover
    BasePlugin = object  # type: ignore[assignment,misc]


def lake_root(configured: str | None = None) -> Path:
    """The lake root: the plugin config, else the rule of every prefhouse command
    (``$PREFHOUSE_LAKE``, else ``./lakehouse`` of the working directory)."""
    from lake.store import resolve_root

    return resolve_root(configured or None)


def _version(raw: Any) -> int | str | None:
    if raw is None or str(raw).strip() in ("", "None", "none", "null"):
        return None
    text = str(raw).strip()
    return int(text) if text.isdigit() else text


def open_table(root: Path, table: str, version: Any = None, missing_ok: bool = False) -> Any:
    """The Lance dataset of ``table`` at ``version`` (or an empty Arrow table if allowed)."""
    from lake import Lake, LakeError
    from lake.schemas import TABLES

    lake = Lake(root)
    try:
        return lake.dataset(table, _version(version))
    except LakeError:
        if missing_ok and table in TABLES:
            return TABLES[table].empty_table()
        raise


class Plugin(BasePlugin):  # type: ignore[misc,valid-type]
    """Registers ``meta.lake_table`` (default: the source table's name) from the lake."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self.root = lake_root(plugin_config.get("lake"))

    def load(self, source_config: Any) -> Any:
        table = source_config.get("lake_table") or source_config.identifier
        missing_ok = str(source_config.get("missing_ok", "false")).lower() == "true"
        return open_table(self.root, table, source_config.get("version"), missing_ok)

    def default_materialization(self) -> str:
        return "view"
