"""Build rows of the ``pairs`` table from plain Python values.

For tests, notebooks and small tools. Ingestion of files goes through
:mod:`pipelines.ingest`, which streams and quarantines; this helper assumes valid input.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from lake import ids
from lake.schemas import PAIRS


def pair_row(
    conversation: Iterable[Mapping[str, str]] | str,
    chosen: str,
    rejected: str,
    *,
    source: str = "manual",
    source_file: str = "<memory>",
    source_row: int = 0,
    is_tie: bool = False,
    category: str | None = None,
    label_origin: str | None = None,
    label_details: Mapping[str, Any] | None = None,
    ingest_batch_id: str | None = None,
    ingested_at: datetime | None = None,
) -> dict[str, Any]:
    """One ``pairs`` row; a string conversation is a single user turn."""
    if isinstance(conversation, str):
        conversation = [{"role": "user", "content": conversation}]
    conv = ids.normalize_conversation(conversation)
    chosen_n, rejected_n = ids.normalize_text(chosen), ids.normalize_text(rejected)
    if is_tie:  # a tie has no order: canonicalise so both orders get one id
        chosen_n, rejected_n = sorted((chosen_n, rejected_n))
    return {
        "pair_id": ids.pair_id(conv, chosen_n, rejected_n),
        "prompt_id": ids.prompt_id(conv),
        "pairset_id": ids.pairset_id(conv, chosen_n, rejected_n),
        "conversation": conv,
        "chosen": chosen_n,
        "rejected": rejected_n,
        "is_tie": is_tie,
        "category": category,
        "label_origin": label_origin,
        "label_details": json.dumps(label_details, sort_keys=True) if label_details is not None else None,
        "source": source,
        "source_file": source_file,
        "source_row": source_row,
        "ingest_batch_id": ingest_batch_id or "manual-" + uuid.uuid4().hex[:12],
        "ingested_at": ingested_at or datetime.now(UTC),
    }


def pairs_table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """An Arrow table with the ``pairs`` schema from rows made by :func:`pair_row`."""
    return pa.Table.from_pylist(list(rows), schema=PAIRS)
