"""A torch ``IterableDataset`` over a lake snapshot.

Rows stream from the pinned Lance version fragment by fragment; with a DataLoader of
N workers, worker k reads fragments k, k+N, ... so every row is read exactly once.
Each item is a dict of Python values (the conversation as a list of role/content dicts).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch.utils.data

if TYPE_CHECKING:
    from lake.snapshot import Snapshot


class SnapshotIterableDataset(torch.utils.data.IterableDataset):
    """Iterate a :class:`~lake.snapshot.Snapshot` row by row, sharded across DataLoader workers."""

    def __init__(self, snapshot: Snapshot, columns: list[str] | None = None, batch_size: int = 1024) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.columns = columns
        self.batch_size = batch_size

    def __len__(self) -> int:
        return self.snapshot.count()

    def fragment_ids(self) -> list[int]:
        """Fragments this worker reads."""
        fragments = sorted(f.fragment_id for f in self.snapshot.dataset.get_fragments())
        info = torch.utils.data.get_worker_info()
        if info is None:
            return fragments
        return fragments[info.id :: info.num_workers]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        ds = self.snapshot.dataset  # opened per worker: Lance handles do not cross process boundaries
        for fid in self.fragment_ids():
            fragment = ds.get_fragment(fid)
            for batch in fragment.to_batches(columns=self.columns, batch_size=self.batch_size):
                yield from batch.to_pylist()
