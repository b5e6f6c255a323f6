"""Helpers shared by command handlers."""

from __future__ import annotations

import argparse

from lake import Lake


def open_lake(args: argparse.Namespace, *, create: bool = True) -> Lake:
    """The lake named by ``--lake`` (or ``$PREFHOUSE_LAKE``, or ``./lakehouse``)."""
    return Lake(args.lake, create=create)
