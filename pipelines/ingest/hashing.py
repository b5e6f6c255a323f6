"""Batch-friendly versions of the ids in :mod:`lake.ids`.

A pair's three ids share the conversation's part of the key (its item lengths and bytes): it is
encoded once per pair (:func:`conversation_key`) and reused. Tests check equality with
:mod:`lake.ids`.
"""

from __future__ import annotations

from lake.ids import digest_bytes

ConvKey = tuple[int, str, bytes]  # (turns, " len" per item, item bytes)


def conversation_key(conversation: list[dict[str, str]]) -> ConvKey:
    """The conversation's items (role, content, ...) as :func:`lake.ids.encode_key` lays them out."""
    items = [s.encode("utf-8") for t in conversation for s in (t["role"], t["content"])]
    return len(conversation), "".join(f" {len(x)}" for x in items), b"".join(items)


def ids_for(conv_key: ConvKey, chosen: str, rejected: str) -> tuple[str, str, str]:
    """(pair_id, prompt_id, pairset_id) for normalised inputs."""
    n, lens, data = conv_key
    c, r = chosen.encode("utf-8"), rejected.encode("utf-8")
    lo, hi = (c, r) if chosen <= rejected else (r, c)
    return (
        digest_bytes(f"pair\n{n} 2{lens} {len(c)} {len(r)}\n".encode() + data + c + r),
        digest_bytes(f"prompt\n{n} 0{lens}\n".encode() + data),
        digest_bytes(f"pairset\n{n} 2{lens} {len(lo)} {len(hi)}\n".encode() + data + lo + hi),
    )
