"""The format registry and ``--format auto`` detection.

Detection looks at the extension and the keys of the first row (the first item of a
JSON array; the first value list of an object keyed by category for EvalBiasBench).
It never guesses between two formats silently: an unknown layout raises with the
list of formats and the ``--map`` hint. A file that cannot be read that far, or has no
rows, raises :class:`FileFault` (a ValueError; :func:`ingest_paths` records it for that file).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pipelines.ingest.arena import read_arena, read_pku
from pipelines.ingest.flat import read_flat, read_generic, read_trl
from pipelines.ingest.hh import ASSISTANT, read_hh
from pipelines.ingest.judges import read_autoj, read_evalbiasbench, read_judgebench, read_llmbar, read_pandalm
from pipelines.ingest.model import FileFault, RawPair, Rejected
from pipelines.ingest.sources import first_row, suffix

Reader = Callable[..., Iterator[RawPair | Rejected]]

FORMATS: dict[str, Reader] = {
    "hh-rlhf": read_hh,
    "flat": read_flat,
    "trl": read_trl,
    "pandalm": read_pandalm,
    "autoj": read_autoj,
    "llmbar": read_llmbar,
    "evalbiasbench": read_evalbiasbench,
    "judgebench": read_judgebench,
    "arena": read_arena,
    "pku-saferlhf": read_pku,
    "generic": read_generic,
}


def _is_messages(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(t, dict) and "role" in t for t in value)


def detect_keys(row: Any) -> str | None:
    """The format a first row's keys (and value shapes) say, or None."""
    if not isinstance(row, dict):
        return None
    keys = set(row)
    if keys and all(isinstance(v, list) for v in row.values()):
        sample = next((v[0] for v in row.values() if v), None)
        if isinstance(sample, dict) and {"instruction", "response1", "response2"} <= set(sample):
            return "evalbiasbench"
    if {"annotator1", "response1", "response2"} <= keys:
        return "pandalm"
    if {"response 1", "response 2"} <= keys:
        return "autoj"
    if {"output_1", "output_2", "label"} <= keys:
        return "llmbar"
    if {"response_A", "response_B"} <= keys:
        return "judgebench"
    if {"response_a", "response_b", "winner_model_a"} <= keys:
        return "arena"
    if {"response_0", "response_1"} <= keys and ({"better_response_id", "safer_response_id"} & keys):
        return "pku-saferlhf"
    if {"chosen", "rejected"} <= keys:
        chosen = row["chosen"]
        if _is_messages(chosen):
            return "flat" if isinstance(row.get("prompt"), str) else "trl"
        if "prompt" in keys:
            return "flat"
        if isinstance(chosen, str) and ASSISTANT in chosen:
            return "hh-rlhf"
    return None


def detect_format(path: str | Path) -> str:
    """Detect a file's format from its extension and first row; raise ValueError if unknown."""
    path = Path(path)
    ext = suffix(path)
    if ext not in (".jsonl", ".json", ".csv", ".parquet"):
        raise ValueError(f"{path}: cannot detect the format of a {ext or 'extension-less'} file; pass --format")
    try:
        row = first_row(path)
    except FileFault as fault:
        fault.args = (f"{path}: {fault.what}",)
        raise
    except ValueError as exc:
        raise ValueError(f"{path}: the first row does not parse ({exc}); pass --format to quarantine bad rows") from exc
    if row is None:
        fault = FileFault("empty_file", "the file holds no rows", row=0)
        fault.args = (f"{path}: {fault.what}",)
        raise fault
    found = detect_keys(row)
    if found is None:
        keys = sorted(row) if isinstance(row, dict) else type(row).__name__
        raise ValueError(
            f"{path}: unknown layout (first row keys: {keys}); pass --format one of {', '.join(FORMATS)}, "
            "or --format generic --map prompt=COL,chosen=COL,rejected=COL"
        )
    return found


def read_file(path: str | Path, format: str = "auto", **options: Any) -> Iterator[RawPair | Rejected]:
    """Stream the pairs (and rejected rows) of one file; no lake writes.

    ``options`` go to the format's reader: ``label_origin`` (override human/model/unknown),
    ``column_map`` (generic), ``label`` (``better``/``safer`` for PKU-SafeRLHF).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if options.get("column_map") is not None and format == "auto":
        format = "generic"
    name = detect_format(path) if format == "auto" else format
    if name not in FORMATS:
        raise ValueError(f"unknown format {format!r}; known: auto, {', '.join(FORMATS)}")
    if "label_origin" in options and options["label_origin"] is None:
        del options["label_origin"]  # None means: the format's default
    return FORMATS[name](path, **options)
