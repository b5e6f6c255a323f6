"""What one ingest did: :class:`IngestReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class IngestReport:
    """What one ingest did. ``n_read == n_accepted + n_duplicate + n_quarantined``, always.

    ``faults``: one entry per truncated, corrupt or empty file (``path``, ``reason``, ``row``,
    ``byte``, ``detail``); its fault row is counted in ``n_read`` and ``n_quarantined``.
    """

    n_read: int = 0
    n_accepted: int = 0
    n_duplicate: int = 0
    n_quarantined: int = 0
    batch_id: str = ""
    versions: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    n_new_sightings: int = 0
    n_new_quarantine: int = 0
    faults: list[dict[str, Any]] = field(default_factory=list)
