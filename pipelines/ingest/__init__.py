"""Ingestion of preference-pair files into the lake.

- :func:`read_file` streams one file as :class:`RawPair` / :class:`Rejected` rows
  (no lake writes); :data:`FORMATS` lists the readers; :func:`detect_format` guesses one.
- :func:`ingest_paths` writes files into the lake in one transaction (pairs, sightings,
  quarantine, batch log) and returns an :class:`IngestReport`.
- :mod:`pipelines.ingest.registry` holds every layout with its detector and parser: the pair
  formats and the benchmark layouts that ``--as-benchmark`` and ``prefhouse eval`` read.

Its names load their modules on first use (``pipelines.ingest.config`` for ``--help`` stays light).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lake.lazy import lazy_names

if TYPE_CHECKING:
    from pipelines.ingest.formats import FORMATS, detect_format, read_file
    from pipelines.ingest.model import RawPair, Rejected
    from pipelines.ingest.writer import IngestReport, ingest_paths

__all__ = [
    "FORMATS",
    "IngestReport",
    "RawPair",
    "Rejected",
    "detect_format",
    "ingest_paths",
    "read_file",
]

__getattr__ = lazy_names(
    __name__,
    {
        "FORMATS": "formats",
        "detect_format": "formats",
        "read_file": "formats",
        "RawPair": "model",
        "Rejected": "model",
        "IngestReport": "writer",
        "ingest_paths": "writer",
    },
)
