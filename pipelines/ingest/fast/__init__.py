"""The column-wise fast path for flat JSONL files: the row path's results, a parsed block at a time.

:func:`iter_flat` is its one entry: it reads a ``.jsonl[.gz]`` file of the flat layout and yields
one :class:`FlatBlock` per block it can take column-wise (the rows of any other block, and the
rows a block sets aside, come from the row path itself). Inside:

- :mod:`~pipelines.ingest.fast.read`: the blocks of lines, prepared on threads or worker processes;
- :mod:`~pipelines.ingest.fast.block`: one parsed block's checks, normalisation and ids;
- :mod:`~pipelines.ingest.fast.normalise` and :mod:`~pipelines.ingest.fast.nfcscan`: normalisation
  in Python only where it can change a value;
- :mod:`~pipelines.ingest.fast.ids`: the ids of :mod:`lake.ids` as columns (tested equal to it);
- :mod:`~pipelines.ingest.fast.rows`: a block's ``pairs`` and ``pair_sources`` columns.
"""

from pipelines.ingest.fast.block import FlatBlock
from pipelines.ingest.fast.read import iter_flat

__all__ = ["FlatBlock", "iter_flat"]
