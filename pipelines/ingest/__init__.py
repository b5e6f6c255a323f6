"""Ingestion of preference-pair files into the lake.

- :func:`read_file` streams one file as :class:`RawPair` / :class:`Rejected` rows
  (no lake writes); :data:`FORMATS` lists the readers; :func:`detect_format` guesses one.
- :func:`ingest_paths` writes files into the lake in one transaction (pairs, sightings,
  quarantine, batch log) and returns an :class:`IngestReport`.
- :mod:`pipelines.ingest.registry` holds every layout with its detector and parser: the pair
  formats and the benchmark layouts that ``--as-benchmark`` and ``prefhouse eval`` read.
"""

from pipelines.ingest.formats import FORMATS, detect_format, read_file
from pipelines.ingest.model import RawPair, Rejected
from pipelines.ingest.writer import IngestReport, ingest_paths

__all__ = ["FORMATS", "IngestReport", "RawPair", "Rejected", "detect_format", "ingest_paths", "read_file"]
