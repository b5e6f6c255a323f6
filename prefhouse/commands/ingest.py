"""``prefhouse ingest PATH...``: read preference files into the lake in one transaction.

Exit codes: 0 every file was read; 3 the ingest committed, but one or more files were truncated,
corrupt or empty (each named with its fault and position; their rows before the fault are in);
2 an error, nothing written (bad arguments, an unknown layout, a lake error).
"""

from __future__ import annotations

import argparse
import json
import sys

from lake.configargs import add_config_args, config_from_args, config_to_dict
from pipelines.ingest.config import IngestConfig
from prefhouse.commands.common import open_lake

FAULTY_FILES = 3  # the exit code when the ingest committed but some files were truncated, corrupt or empty


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ingest",
        help="ingest preference files (hh-rlhf, flat, TRL, PandaLM, Auto-J, LLMBar, ...) into the lake",
        description=(
            "Read files (or folders of them) and write new pairs, their provenance and the rows that could not "
            "become pairs (quarantine, with a reason) in one lake commit. Re-running adds nothing. "
            "Prints read = accepted + duplicate + quarantined. A truncated, corrupt or empty file is reported "
            "(its rows before the fault are kept) and the others are read; the exit code is then "
            f"{FAULTY_FILES}."
        ),
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help=".jsonl[.gz], .json, .csv or .parquet files, or folders")
    add_config_args(p, IngestConfig)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pipelines.ingest import ingest_paths

    cfg = config_from_args(IngestConfig, args)
    lake = open_lake(args)
    options = {"label": cfg.pku_label} if cfg.format in ("auto", "pku-saferlhf") else {}
    with tqdm(unit=" rows", desc="ingest", disable=cfg.json or not sys.stderr.isatty()) as bar:
        report = ingest_paths(
            lake, args.paths, format=cfg.format, source=cfg.source, as_benchmark=cfg.as_benchmark,
            column_map=cfg.map, label_origin=cfg.label_origin, progress=bar.update, **options,
        )  # fmt: skip
    out = {
        "read": report.n_read, "accepted": report.n_accepted, "duplicate": report.n_duplicate,
        "quarantined": report.n_quarantined, "quarantine_reasons": report.reasons,
        "new_sightings": report.n_new_sightings, "new_quarantine_rows": report.n_new_quarantine,
        "batch_id": report.batch_id, "versions": report.versions, "files": report.files,
        "faults": report.faults, "config": config_to_dict(cfg),
    }  # fmt: skip
    code = FAULTY_FILES if report.faults else 0
    if cfg.json:
        print(json.dumps(out, indent=1))
        return code
    print(
        f"read {report.n_read}  accepted {report.n_accepted}  duplicate {report.n_duplicate}  "
        f"quarantined {report.n_quarantined}"
    )
    for reason, n in report.reasons.items():
        print(f"  quarantined {reason}: {n}")
    for f in report.faults:  # the detail ends with the position: [at row R (line L), byte B]
        print(f"  faulty file {f['path']}: {f['reason']}: {f['detail']}")
    print(f"batch {report.batch_id}; lake at {lake.root}; versions {report.versions}")
    if report.faults:
        print(
            f"prefhouse ingest: warning: {len(report.faults)} of {len(report.files)} files truncated, corrupt or "
            f"empty (listed above; their rows before the fault were ingested, the other files read in full); "
            f"exit code {FAULTY_FILES}",
            file=sys.stderr,
        )
    return code
