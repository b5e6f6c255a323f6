"""Which pairs each rank of a distributed run takes: pure functions, no torch.distributed.

Every rank draws the same global micro-batch (same seed, same length-grouped stream); rank r
takes every world-th pair of it from position r. The loss weight makes the gradients, once
FSDP averages them over ranks, equal to the single-process gradient of the whole batch.
Validation is cut into equal contiguous chunks (padded with copies of the last pair) so every
rank makes the same number of forward passes, which FSDP's collectives need.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def rank_share(batch: Sequence[T], rank: int, world: int, grad_accum: int = 1) -> tuple[list[T], float, bool]:
    """(this rank's pairs, the weight on their summed loss, whether they are real).

    The weight is ``world / (len(batch) * grad_accum)``: the sum over ranks of weighted losses,
    divided by ``world`` (FSDP averages gradients), is the batch mean over ``grad_accum``, as the
    single-process trainer computes it. A rank left without pairs (a batch smaller than the
    world) runs one pair with weight 0: every rank must take part in each forward and backward.
    """
    if not batch:
        raise ValueError("empty global batch")
    mine = list(batch[rank::world])
    if not mine:
        return [batch[0]], 0.0, False
    return mine, world / (len(batch) * grad_accum), True


def eval_shard(items: Sequence[T], rank: int, world: int) -> list[T]:
    """This rank's equal-size contiguous chunk of ``items``, padded with copies of the last item.

    Concatenating the chunks of ranks 0..world-1 gives ``items`` followed by the padding, so the
    first ``len(items)`` gathered results are the items' results in order.
    """
    if not items:
        return []
    k = math.ceil(len(items) / world)
    chunk = list(items[rank * k : (rank + 1) * k])
    return chunk + [items[-1]] * (k - len(chunk))
