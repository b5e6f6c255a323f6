"""The prefhouse lake: versioned Lance tables, snapshots for training jobs, SQL."""

from lake.store import Lake, LakeError, Transaction, resolve_root

__all__ = ["Lake", "LakeError", "Transaction", "resolve_root"]
