"""The pair formats of plain ``prefhouse ingest`` and ``--format auto`` detection.

Formats and their detectors live in :mod:`pipelines.ingest.registry` with the benchmark
layouts (one registry for ingest and eval); here are the pair layouts of it. Detection looks
at the extension and the keys of the first row (the first item of a JSON array; the first
value list of an object keyed by category for EvalBiasBench). It never guesses between two
formats silently: an unknown layout raises with the list of formats and the ``--map`` hint,
and a benchmark layout (RM-Bench, RMB, RewardBench 2, PPE, ...) raises with the hint to pass
``--as-benchmark``. A file that cannot be read that far, or has no rows, raises
:class:`FileFault` (a ValueError; :func:`ingest_paths` records it for that file).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.ingest.model import RawPair, Rejected
from pipelines.ingest.registry import BY_NAME, LAYOUTS, Reader, detect_layout, detect_row, not_pairs, read_pairs

# the pair formats by --format name (RewardBench, a registry layout of its own, is read as flat)
FORMATS: dict[str, Reader] = {
    layout.name: layout.reader
    for layout in LAYOUTS
    if layout.reader is not None and layout.ingest_format == layout.name
}


def detect_keys(row: Any) -> str | None:
    """The pair format a first row's keys (and value shapes) say, or None (also for a benchmark layout)."""
    layout = detect_row(row)
    return None if layout is None else layout.ingest_format


def detect_format(path: str | Path) -> str:
    """Detect a file's pair format from its extension and first row; raise ValueError if unknown.

    A file in a benchmark layout raises too: it holds benchmark items, not pairs.
    """
    layout = detect_layout(path)
    if layout.ingest_format is None:
        raise not_pairs(Path(path), layout)
    return layout.ingest_format


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
    if name not in BY_NAME:
        raise ValueError(f"unknown format {format!r}; known: auto, {', '.join(FORMATS)}")
    return read_pairs(path, BY_NAME[name], **options)
