"""The pairs writer's unit: a block of pairs as columns, from either path, and the rows it set aside.

The fast path yields :class:`pipelines.ingest.fast.FlatBlock`; :func:`row_blocks` gathers the row
path's :class:`RawPair` / :class:`Rejected` rows of a file into :class:`RowBlock`s of the same
shape, so the writer handles one kind of thing (:class:`PairBlock`) whichever path read the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import pyarrow as pa

from lake.ids import conversation_key, ids_for
from lake.records import conversations, dumps_details
from pipelines.ingest.model import RawPair, Rejected

BLOCK_ROWS = 8192  # rows (pairs and rejected) of a row-path block


class PairBlock(Protocol):
    """What the writer reads of a block: its rows' ids and positions, its ``pairs`` columns, its rejected rows."""

    others: list[Rejected]

    @property
    def n_rows(self) -> int: ...
    @property
    def pair_ids(self) -> pa.Array: ...
    @property
    def source_row(self) -> pa.Array: ...
    @property
    def label_details(self) -> list[str | None] | None: ...
    def columns(self) -> dict[str, Any]: ...


class RowBlock:
    """Row-path rows of one file, in row order: pairs gathered into columns, rejected rows aside."""

    NAMES = ("pair_id", "prompt_id", "pairset_id", "chosen", "rejected", "is_tie", "category", "label_origin",
             "label_details", "source_row")  # fmt: skip

    def __init__(self) -> None:
        self.values: dict[str, list[Any]] = {name: [] for name in self.NAMES}
        self.offsets, self.roles, self.contents = [0], [], []  # the conversations, flat
        self.others: list[Rejected] = []

    @property
    def n_rows(self) -> int:
        return len(self.values["pair_id"]) + len(self.others)

    @property
    def pair_ids(self) -> pa.Array:
        return pa.array(self.values["pair_id"], pa.string())

    @property
    def source_row(self) -> pa.Array:
        return pa.array(self.values["source_row"], pa.int64())

    @property
    def label_details(self) -> list[str | None]:
        return self.values["label_details"]

    def add(self, p: RawPair) -> None:
        pid, prompt_id, pairset_id = ids_for(conversation_key(p.conversation), p.chosen, p.rejected)
        row = (pid, prompt_id, pairset_id, p.chosen, p.rejected, p.is_tie, p.category, p.label_origin,
               dumps_details(p.label_details), p.source_row)  # fmt: skip
        for name, value in zip(self.NAMES, row, strict=True):
            self.values[name].append(value)
        for t in p.conversation:
            self.roles.append(t["role"])
            self.contents.append(t["content"])
        self.offsets.append(len(self.roles))

    def columns(self) -> dict[str, Any]:
        return {**self.values, "conversation": conversations(self.offsets, self.roles, self.contents)}


def row_blocks(items: Iterable[Any], rows: int = BLOCK_ROWS) -> Iterator[Any]:
    """``items`` with each run of row-path rows (:class:`RawPair`, :class:`Rejected`) gathered into
    :class:`RowBlock`s of at most ``rows`` rows; anything else (a fast-path block) passes as it is, in order."""
    block = RowBlock()
    for item in items:
        if isinstance(item, RawPair):
            block.add(item)
        elif isinstance(item, Rejected):
            block.others.append(item)
        else:
            if block.n_rows:
                yield block
                block = RowBlock()
            yield item
            continue
        if block.n_rows >= rows:
            yield block
            block = RowBlock()
    if block.n_rows:
        yield block
