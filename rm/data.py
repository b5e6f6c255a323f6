"""Pairs for the reward model: read from the lake, tokenise, batch by length.

The core (``Example``, ``encode``, ``length_grouped_batches``, ``collate``) needs no lake, so
the trainer runs on in-memory pairs too (the GPU test does, where lance is absent). The lake
edge is :func:`read_snapshot_pairs` (a table at a version or tag) and :func:`read_gold_pairs`
(pairs with human labels, oriented by the majority verdict).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rm.formatting import format_pair_side

PAIR_COLUMNS = ["pair_id", "conversation", "chosen", "rejected"]


@dataclass
class Example:
    """One preference pair; ``conversation`` holds every turn before the final assistant turn."""

    conversation: list[dict[str, str]]
    chosen: str
    rejected: str
    pair_id: str = ""
    category: str | None = None


@dataclass
class Encoded:
    pair_id: str
    chosen_ids: list[int]
    rejected_ids: list[int]
    category: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return max(len(self.chosen_ids), len(self.rejected_ids))


def example_from_row(row: Mapping[str, Any]) -> Example:
    conv = row["conversation"]
    if isinstance(conv, str):
        conv = [{"role": "user", "content": conv}]
    return Example(
        conversation=[{"role": t["role"], "content": t["content"]} for t in conv],
        chosen=row["chosen"],
        rejected=row["rejected"],
        pair_id=row.get("pair_id") or "",
        category=row.get("category"),
    )


def encode_texts(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    return tokenizer(list(texts), truncation=True, max_length=max_length, add_special_tokens=True)["input_ids"]


def encode(tokenizer: Any, examples: Iterable[Example], max_length: int, chunk: int = 512) -> list[Encoded]:
    """Tokenise both sides of every pair (batched through the fast tokenizer)."""
    out: list[Encoded] = []
    buf: list[Example] = []

    def flush() -> None:
        texts_c = [format_pair_side(tokenizer, e.conversation, e.chosen) for e in buf]
        texts_r = [format_pair_side(tokenizer, e.conversation, e.rejected) for e in buf]
        ids = encode_texts(tokenizer, texts_c + texts_r, max_length)
        n = len(buf)
        out.extend(Encoded(e.pair_id, ids[i], ids[n + i], e.category) for i, e in enumerate(buf))
        buf.clear()

    for ex in examples:
        buf.append(ex)
        if len(buf) >= chunk:
            flush()
    if buf:
        flush()
    return out


def length_grouped_batches(items: Sequence[Encoded], batch_size: int, seed: int, mega: int = 64) -> list[list[int]]:
    """Batches of indices with similar lengths (less padding), in random order.

    Shuffle, cut into mega-chunks of ``mega`` batches, sort each chunk by length, split it
    into batches, shuffle the batches: the trl/HF "group by length" idea.
    """
    rng = random.Random(seed)
    order = list(range(len(items)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    span = batch_size * mega
    for start in range(0, len(order), span):
        chunk = sorted(order[start : start + span], key=lambda i: items[i].length, reverse=True)
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def sorted_batches(items: Sequence[Encoded], batch_size: int) -> list[list[int]]:
    """Deterministic batches by descending length (for inference)."""
    order = sorted(range(len(items)), key=lambda i: items[i].length, reverse=True)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int, device: str = "cpu") -> tuple[Any, Any]:
    """Right-padded ``input_ids`` and ``attention_mask`` tensors for token id lists."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids.to(device), mask.to(device)


def collate(items: Sequence[Encoded], pad_id: int, device: str = "cpu") -> tuple[Any, Any]:
    """One padded batch: the chosen sides first, then the rejected sides (one forward pass)."""
    return pad_batch([it.chosen_ids for it in items] + [it.rejected_ids for it in items], pad_id, device)


def split_holdout(
    examples: list[Example], fraction: float, seed: int, key: Callable[[Example], str] | None = None
) -> tuple[list[Example], list[Example]]:
    """Hold out ``fraction`` of the examples by prompt (no prompt on both sides).

    ``key`` groups examples that must stay on one side (default: the conversation). Pairs built
    from one source prompt with different appended instructions need the source prompt here, or
    the same text is learned on one side and tested on the other.
    """
    if fraction <= 0:
        return examples, []
    group = key or (lambda e: repr(e.conversation))
    keys = [group(e) for e in examples]
    prompts = sorted(set(keys))
    random.Random(seed).shuffle(prompts)
    held = set(prompts[: max(1, int(len(prompts) * fraction))])
    train = [e for e, k in zip(examples, keys, strict=True) if k not in held]
    val = [e for e, k in zip(examples, keys, strict=True) if k in held]
    return train, val


# ------------------------------------------------------------------ lake edge
def pair_scan(names: Iterable[str], ref: str, where: str | None = None) -> tuple[list[str], str | None]:
    """The columns and Lance filter that read a pairs-layout table's pairs (ties left out: no preference)."""
    names = set(names)
    missing = [c for c in PAIR_COLUMNS if c not in names]
    if missing:
        raise ValueError(f"table {ref} lacks column(s) {missing}: train on a pairs-layout table")
    columns = PAIR_COLUMNS + [c for c in ("category",) if c in names]
    clauses = [c for c in ("is_tie = false" if "is_tie" in names else None, where) if c]
    return columns, " AND ".join(f"({c})" for c in clauses) or None


def read_snapshot_pairs(snapshot: Any, limit: int | None = None, where: str | None = None) -> Iterator[Example]:
    """Stream the pairs of a lake Snapshot (ties are skipped: they carry no preference), optionally filtered."""
    columns, where = pair_scan(snapshot.dataset.schema.names, snapshot.ref, where)
    n = 0
    for batch in snapshot.to_batches(columns=columns, filter=where):
        for row in batch.to_pylist():
            yield example_from_row(row)
            n += 1
            if limit is not None and n >= limit:
                return


def read_gold_pairs(
    lake: Any, table: str = "pairs", at: str | None = None, source: str = "human_labels"
) -> list[Example]:
    """Validation pairs: gold (human-labelled, oriented as the humans said) or a whole table."""
    from lake.snapshot import open_snapshot

    if source == "none":
        return []
    snap = open_snapshot(lake, table, at)
    if source == "table":
        return list(read_snapshot_pairs(snap))
    from lake.labels import gold_verdicts  # the lake edge: rm's training core imports no lance

    verdicts = gold_verdicts(lake)
    gold = []
    for ex in read_snapshot_pairs(snap):
        verdict = verdicts.get(ex.pair_id)
        if verdict == "rejected":  # the humans preferred the stored "rejected" side
            ex.chosen, ex.rejected = ex.rejected, ex.chosen
        if verdict is not None:
            gold.append(ex)
    return gold
