"""The one composition root of the ``prefhouse`` command line.

Each module in :mod:`prefhouse.commands` adds its sub-commands with ``register``;
a command handler is thin: load, build, run, save. Heavy libraries (torch, dbt,
sentence-transformers) are imported inside handlers so ``prefhouse --help`` is fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from prefhouse import __version__
from prefhouse.commands import annotate, curation, dbt, embed, ingest, lakecmds, rm

COMMAND_MODULES = (ingest, lakecmds, dbt, embed, rm, annotate, curation)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prefhouse",
        description=(
            "A preference-data lakehouse: ingest preference pairs into versioned Lance tables, "
            "curate them with SQL (dbt), retrieve, label and train reward models in rounds."
        ),
    )
    parser.add_argument("--version", action="version", version=f"prefhouse {__version__}")
    parser.add_argument(
        "--lake",
        metavar="PATH",
        default=None,
        help="lake root folder (default: $PREFHOUSE_LAKE or ./lakehouse)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from lake.offline import use_offline_env

    use_offline_env()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # one line per HTTP request drowns the progress output
        for noisy in ("httpx", "great_expectations"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    from lake import LakeError
    from prefhouse.commands.common import keep_analyst_file_current, lake_signature

    before, interrupted = lake_signature(args), False
    try:
        return int(args.func(args) or 0)
    except (LakeError, FileNotFoundError, ValueError) as exc:
        print(f"prefhouse {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the lake stays at its last committed version", file=sys.stderr)
        interrupted = True
        return 130
    finally:  # whatever the command committed (a failed round may have), the analyst file mirrors it
        if not interrupted:
            keep_analyst_file_current(args, before)


if __name__ == "__main__":
    sys.exit(main())
