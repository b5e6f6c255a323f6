"""Batch-friendly versions of the ids in :mod:`lake.ids`.

A pair's three ids share the conversation's part of the key (its item lengths and bytes): it is
encoded once per pair (:func:`conversation_key`) and reused. Tests check equality with
:mod:`lake.ids`.
"""

from __future__ import annotations

import struct

from lake.ids import digest_bytes

ConvKey = tuple[int, bytes, bytes]  # (turns, u64 item lengths, item bytes)
_PAIR, _PAIRSET, _PROMPT = b"pair\0", b"pairset\0", b"prompt\0"


def conversation_key(conversation: list[dict[str, str]]) -> ConvKey:
    """The conversation's items (role, content, ...) as :func:`lake.ids.encode_key` lays them out."""
    items = [s.encode("utf-8") for t in conversation for s in (t["role"], t["content"])]
    return len(conversation), struct.pack(f"<{len(items)}Q", *map(len, items)), b"".join(items)


def ids_for(conv_key: ConvKey, chosen: str, rejected: str) -> tuple[str, str, str]:
    """(pair_id, prompt_id, pairset_id) for normalised inputs."""
    n, lens, data = conv_key
    c, r = chosen.encode("utf-8"), rejected.encode("utf-8")
    lo, hi = (c, r) if chosen <= rejected else (r, c)
    two = struct.pack("<QQ", n, 2)
    return (
        digest_bytes(b"".join((_PAIR, two, lens, struct.pack("<QQ", len(c), len(r)), data, c, r))),
        digest_bytes(b"".join((_PROMPT, struct.pack("<QQ", n, 0), lens, data))),
        digest_bytes(b"".join((_PAIRSET, two, lens, struct.pack("<QQ", len(lo), len(hi)), data, lo, hi))),
    )
