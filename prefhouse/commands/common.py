"""Helpers shared by the command modules: parser setup the commands repeat, and what their handlers open."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lake import Lake


def add_group(
    sub: argparse._SubParsersAction, name: str, help: str, metavar: str = "ACTION"
) -> argparse._SubParsersAction:
    """``prefhouse NAME ACTION``: a command that is only a group of required sub-commands (``args.NAME_command``)."""
    return sub.add_parser(name, help=help).add_subparsers(dest=f"{name}_command", metavar=metavar, required=True)


def add_json_flag(p: argparse.ArgumentParser, help: str = "print JSON") -> None:
    """``--json``: print machine-readable output instead of the table or text."""
    p.add_argument("--json", action="store_true", help=help)


def open_lake(args: argparse.Namespace, *, create: bool = True) -> Lake:
    """The lake named by ``--lake`` (or ``$PREFHOUSE_LAKE``, or ``./lakehouse``)."""
    from lake import Lake

    return Lake(args.lake, create=create)


def lake_signature(args: argparse.Namespace) -> tuple[object, ...] | None:
    """What the analyst file mirrors, cheaply: the lake's commit, its tags and each round's build record."""
    from lake.store import MANIFEST, resolve_root

    root = resolve_root(args.lake)
    manifest = root / MANIFEST
    if not manifest.exists():
        return None
    stamps = [manifest, *root.glob("*.lance/_refs/tags/*"), *root.glob("_dbt/rounds/round_*.json")]
    return tuple(sorted((str(p), p.stat().st_mtime_ns) for p in stamps if p.exists()))


def keep_analyst_file_current(args: argparse.Namespace, before: tuple[object, ...] | None) -> None:
    """Refresh ``<lake>/lake.duckdb`` if the command changed what it mirrors (``PREFHOUSE_ANALYST_FILE=off``: never)."""
    import logging

    if os.environ.get("PREFHOUSE_ANALYST_FILE", "on").lower() in ("0", "off", "false", "no"):
        return
    after = lake_signature(args)
    if after is None or after == before:
        return
    from pipelines.dbt_runner import refresh_analyst_file

    lake = open_lake(args, create=False)
    try:
        refresh_analyst_file(lake)
    except Exception as exc:  # the command's own work is done and committed: say so, do not fail it
        logging.getLogger("prefhouse").warning(
            "the analyst file %s was not refreshed (%s): run `prefhouse db refresh`", lake.root / "lake.duckdb", exc
        )
