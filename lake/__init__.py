"""The prefhouse lake: versioned Lance tables, snapshots for training jobs, SQL.

``Lake``, ``Transaction`` and ``resolve_root`` load :mod:`lake.store` (and Lance) on first use
(:mod:`lake.lazy`); ``LakeError`` is light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lake.errors import LakeError
from lake.lazy import lazy_names

if TYPE_CHECKING:
    from lake.store import Lake, Transaction, resolve_root

__all__ = [
    "Lake",
    "LakeError",
    "Transaction",
    "resolve_root",
]

__getattr__ = lazy_names(__name__, {"Lake": "store", "Transaction": "store", "resolve_root": "store"})
