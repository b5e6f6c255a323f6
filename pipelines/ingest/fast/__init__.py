"""The column-wise fast path for flat JSONL files: the row path's results, a parsed block at a time.

:func:`iter_flat` is its one entry: it reads a ``.jsonl[.gz]`` file of the flat layout and yields
one :class:`FlatBlock` per block it can take column-wise (the rows of any other block, and the
rows a block sets aside, come from the row path itself). Inside:

- :mod:`~pipelines.ingest.fast.read`: the blocks of lines, prepared on threads or worker processes;
- :mod:`~pipelines.ingest.fast.block`: one parsed block's checks, normalisation, ids and ``pairs`` columns;
- :mod:`~pipelines.ingest.fast.normalise` and :mod:`~pipelines.ingest.fast.nfcscan`: normalisation
  in Python only where it can change a value;
- :mod:`~pipelines.ingest.fast.ids`: the ids of :mod:`lake.ids` as columns (tested equal to it).
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipelines.ingest.fast.block import FlatBlock
from pipelines.ingest.fast.read import iter_flat
from pipelines.ingest.sources import suffix

__all__ = ["FlatBlock", "covers", "iter_flat"]


def covers(path: Path, fmt: str, options: Mapping[str, Any]) -> bool:
    """Whether the fast path reads this file: flat JSONL (``.jsonl[.gz]``) without a column map."""
    return fmt == "flat" and suffix(path) == ".jsonl" and "column_map" not in options
