"""Stable content ids for prompts and pairs.

Text is normalised (Unicode NFC, ``\\r\\n`` to ``\\n``, surrounding whitespace stripped;
inner whitespace kept, since it matters in code) and roles are mapped to
``user``/``assistant``/``system``. The ids are the first 128 bits (32 hex chars) of the
SHA-256 digest of a canonical JSON encoding (``json.dumps(payload, ensure_ascii=False,
separators=(",", ":"))``), so the same pair read from two files or two formats gets the same
``pair_id``. (SHA-256 rather than BLAKE2b: OpenSSL's SHA-256 uses the CPU's SHA extensions and
hashes about twice as fast here; :mod:`pipelines.ingest.fastflat` computes the same ids column-wise.)

- ``prompt_id``  = hash(conversation)
- ``pair_id``    = hash(conversation, chosen, rejected)   (order matters: a flip differs)
- ``pairset_id`` = hash(conversation, {chosen, rejected}) (a pair and its flip share it)
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping

ROLE_ALIASES = {
    "user": "user",
    "human": "user",
    "prompter": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "chatbot": "assistant",
    "system": "system",
}

Conversation = list[dict[str, str]]


def normalize_text(text: str) -> str:
    """NFC, unified line endings, stripped ends."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


def normalize_role(role: str) -> str:
    """Map a role name to user / assistant / system; raise ValueError for others."""
    key = role.strip().lower()
    if key not in ROLE_ALIASES:
        raise ValueError(f"unknown role {role!r} (expected one of {sorted(set(ROLE_ALIASES))})")
    return ROLE_ALIASES[key]


def normalize_conversation(turns: Iterable[Mapping[str, str]]) -> Conversation:
    return [{"role": normalize_role(t["role"]), "content": normalize_text(t["content"])} for t in turns]


def _digest(payload: object) -> str:
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return digest_bytes(data)


def digest_bytes(data: bytes) -> str:
    """The id of an encoded payload: SHA-256, first 128 bits, hex."""
    return hashlib.sha256(data).hexdigest()[:32]


def _conv_key(conversation: Conversation) -> list[list[str]]:
    return [[t["role"], t["content"]] for t in conversation]


def prompt_id(conversation: Conversation) -> str:
    """Id of a (normalised) conversation."""
    return _digest(["prompt", _conv_key(conversation)])


def pair_id(conversation: Conversation, chosen: str, rejected: str) -> str:
    """Id of a (normalised) ordered pair."""
    return _digest(["pair", _conv_key(conversation), chosen, rejected])


def pairset_id(conversation: Conversation, a: str, b: str) -> str:
    """Id of a conversation with an unordered set of two responses."""
    lo, hi = sorted((a, b))
    return _digest(["pairset", _conv_key(conversation), lo, hi])


def text_hash(text: str) -> str:
    """Hash of any text (e.g. an embedding's input), to detect changes."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
