"""Fast, batch-friendly versions of the ids in :mod:`lake.ids`.

:mod:`lake.ids` hashes ``json.dumps(payload, ensure_ascii=False, separators=(",", ":"))``;
building that string by hand with the same C string encoder (``json.encoder.encode_basestring``,
which ``json.dumps`` itself uses when ``ensure_ascii`` is off) gives byte-identical input
at a fraction of the cost of a ``json.dumps`` call per id. Tests check the equality.
"""

from __future__ import annotations

from json.encoder import encode_basestring as _enc  # type: ignore[attr-defined]

from lake.ids import digest_bytes


def _h(text: str) -> str:
    return digest_bytes(text.encode("utf-8"))


def conversation_key(conversation: list[dict[str, str]]) -> str:
    """The JSON of ``[[role, content], ...]`` as ``lake.ids`` encodes it."""
    return "[" + ",".join(f"[{_enc(t['role'])},{_enc(t['content'])}]" for t in conversation) + "]"


def ids_for(conv_key: str, chosen: str, rejected: str) -> tuple[str, str, str]:
    """(pair_id, prompt_id, pairset_id) for normalised inputs."""
    c, r = _enc(chosen), _enc(rejected)
    lo, hi = (c, r) if chosen <= rejected else (r, c)
    return (
        _h(f'["pair",{conv_key},{c},{r}]'),
        _h(f'["prompt",{conv_key}]'),
        _h(f'["pairset",{conv_key},{lo},{hi}]'),
    )
