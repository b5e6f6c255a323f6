"""Reading a flat JSONL file column-wise: its blocks of lines, prepared on threads (or worker processes).

:func:`iter_flat` is the fast path's one entry: like ``read_flat(path)``, but each block that
:func:`pipelines.ingest.fast.block.flat_block` can take comes out as one :class:`FlatBlock`;
the rows of any other block come out one by one from the row path.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from pipelines.ingest import sources
from pipelines.ingest.fast.block import FlatBlock, flat_block
from pipelines.ingest.flat import flat_item
from pipelines.ingest.model import FileFault, RawPair, Rejected

# processes for big files (PREFHOUSE_INGEST_WORKERS=1: all in this process, with threads preparing
# blocks ahead). On 2 cores that is faster than 2 processes (1M pairs: 9.7-10 s against 11.1-12.3 s,
# docs/ingest.md); with more cores, up to 4 processes share the Python work.
_CORES = os.cpu_count() or 1
WORKERS = int(os.environ.get("PREFHOUSE_INGEST_WORKERS", 1 if _CORES <= 2 else min(4, _CORES)))
POOL_MIN_BLOCKS = 32  # a spawned worker costs about a second of start-up: only worth it on big files


def _block_items(
    block: bytes | memoryview | Rejected, start: int, label_origin: str | None
) -> list[FlatBlock | RawPair | Rejected]:
    """Everything one block of lines yields (run in a worker process when there is a pool)."""
    if isinstance(block, Rejected):  # the file's fault, after its last whole line
        return [block]
    table = sources.parse_block_table(block)
    fast = None if table is None else flat_block(table, start, label_origin)
    if fast is not None:
        return [fast]
    if table is None:
        return [flat_item(i, row, label_origin) for i, row in sources.parse_lines(block, start)]
    return [flat_item(start + i, row, label_origin) for i, row in enumerate(sources.table_rows(table))]


def _numbered_blocks(
    path: Path, block_bytes: int, mapped: bool = False
) -> Iterator[tuple[bytes | memoryview | Rejected, int]]:
    """Blocks of whole lines and the row index of each one's first line.

    ``mapped``: views of a memory map instead of copies read from the file (an uncompressed
    file, blocks handled in this process); reading and counting then hold the GIL for
    almost nothing, where copying 1 GB of blocks held it about 0.9 s. A ``.gz`` that ends at a
    fault ends with its fault row (:class:`Rejected`) in place of a block, as the row path does.
    """
    start = 0
    if mapped and not path.name.endswith(".gz"):
        for view in sources.mapped_line_blocks(path, block_bytes):
            yield view, start
            start += sources.count_newlines(view)
        return
    try:
        with sources.open_binary(path) as fh:
            for block in sources.line_blocks(fh, block_bytes):
                yield block, start
                start += block.count(b"\n")
    except FileFault as fault:
        yield fault.rejected(start, line=start + 1), start


# Block threads in one process. pyarrow, numpy and polars run without the GIL but each block
# also has Python steps (the NFC check, small Arrow calls) that hold it; with one thread the
# cores idled during those. Measured at 1M pairs on 2 cores: 1 thread 8.2-8.6 s, 2 threads
# 7.7-7.9 s, 3 threads 7.0-7.4 s, 4 threads 7.4 s (docs/ingest.md).
BLOCK_THREADS = 3


def _threaded(
    blocks: Iterator[tuple[bytes | memoryview, int]], label_origin: str | None, threads: int = BLOCK_THREADS
) -> Iterator:
    """The items of each block, worked out on ``threads`` threads, in file order.

    The parse, the masks and the hashing run in pyarrow, numpy and polars without the GIL, so
    the next blocks are prepared while the consumer dedups this one and Lance encodes and
    writes. At most ``threads + 1`` blocks are in flight (bounded memory).
    """
    from concurrent.futures import ThreadPoolExecutor

    ahead = threads + 1
    with ThreadPoolExecutor(threads, thread_name_prefix="prefhouse-block") as pool:
        pending: deque = deque()
        try:
            for block, start in blocks:
                if len(pending) >= ahead:
                    yield from pending.popleft().result()
                pending.append(pool.submit(_block_items, block, start, label_origin))
            while pending:
                yield from pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()


def _worker_init() -> None:
    pa.set_cpu_count(1)  # one process per core: no thread pool on top


def iter_flat(
    path: Path, label_origin: str | None = "unknown", block_bytes: int | None = None, workers: int | None = None
) -> Iterator[FlatBlock | RawPair | Rejected]:
    """Like ``read_flat(path)``, but plain blocks come out as one :class:`FlatBlock` each.

    ``workers``: processes; None: :data:`WORKERS` for a file over :data:`POOL_MIN_BLOCKS` blocks, else 1.

    With ``workers > 1``, blocks are also handled by ``workers - 1`` spawned processes (Lance
    is not fork-safe): this process takes a block itself whenever the oldest one sent out is
    not back yet (so no core idles while the workers start), at most ``2 * workers`` blocks
    ahead of the consumer; blocks are yielded in file order.
    """
    if workers is None:
        workers = WORKERS if path.stat().st_size > POOL_MIN_BLOCKS * sources.BLOCK_BYTES else 1
    blocks = _numbered_blocks(path, block_bytes or sources.BLOCK_BYTES, mapped=workers <= 1)
    if workers <= 1:
        yield from _threaded(blocks, label_origin)
        return
    import multiprocessing
    from concurrent.futures import Future, ProcessPoolExecutor

    def result(item: Future | list) -> list:
        return item.result() if isinstance(item, Future) else item

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers - 1, mp_context=ctx, initializer=_worker_init) as pool:
        pending: deque[Future | list] = deque()
        try:
            for block, start in blocks:
                if len(pending) >= 2 * workers:
                    yield from result(pending.popleft())
                busy = any(isinstance(f, Future) and not f.done() for f in pending)
                if busy and sum(isinstance(f, Future) for f in pending) >= workers - 1:
                    pending.append(_block_items(block, start, label_origin))  # do it here meanwhile
                else:
                    pending.append(pool.submit(_block_items, block, start, label_origin))
            while pending:
                yield from result(pending.popleft())
        finally:
            for f in pending:
                if isinstance(f, Future):
                    f.cancel()
