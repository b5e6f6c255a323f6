"""Stable content ids for prompts and pairs.

Text is normalised (Unicode NFC, ``\\r\\n`` to ``\\n``, surrounding whitespace stripped;
inner whitespace kept, since it matters in code) and roles are mapped to
``user``/``assistant``/``system``. An id is the first 128 bits (32 hex chars) of the SHA-256
digest of a length-prefixed key, so the same pair read from two files or two formats gets the
same ``pair_id``::

    key = tag LF n_turns SP n_texts (SP byte_length)* LF items

where the numbers are decimal ASCII, one byte length per item, and the items are ``role_1,
content_1, ..., role_n, content_n, text_1, ..., text_m`` in UTF-8, concatenated. The header's
length prefixes make the key unambiguous with no escaping, and the key is valid UTF-8, so ingest
builds and hashes the keys of whole blocks as string columns in polars (with ``polars-hash``'s
SHA-256; :mod:`pipelines.ingest.fast.ids`, tested equal to this module). For one user turn ``P``
and responses ``C``, ``R`` the pair key is ``"pair\n1 2 4 |P| |C| |R|\nuser" + P + C + R``.

- ``prompt_id``  = hash(conversation)
- ``pair_id``    = hash(conversation, chosen, rejected)   (order matters: a flip differs)
- ``pairset_id`` = hash(conversation, {chosen, rejected}) (a pair and its flip share it)
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

SCHEME = "sha256-lp1"  # recorded in a lake's manifest; change it whenever ids would change

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


def digest_bytes(data: bytes) -> str:
    """The id of an encoded key: SHA-256, first 128 bits, hex."""
    return hashlib.sha256(data).hexdigest()[:32]


ConvKey = tuple[int, str, bytes]  # a conversation's part of a key: (turns, " len" per item, item bytes)


def conversation_key(conversation: Conversation) -> ConvKey:
    """The conversation's items (role, content, ...) as keys lay them out; encoded once, shared by a pair's ids."""
    items = [s.encode("utf-8") for t in conversation for s in (t["role"], t["content"])]
    return len(conversation), "".join(f" {len(x)}" for x in items), b"".join(items)


def _key(tag: str, conv: ConvKey, texts: Sequence[bytes]) -> bytes:
    """The key layout (module docstring): the one definition every id is hashed from."""
    n, lens, data = conv
    header = f"{tag}\n{n} {len(texts)}{lens}" + "".join(f" {len(x)}" for x in texts) + "\n"
    return header.encode("ascii") + data + b"".join(texts)


def encode_key(tag: str, conversation: Conversation, texts: Sequence[str] = ()) -> bytes:
    """The key of ``tag`` over a conversation and further texts (see the module docstring)."""
    return _key(tag, conversation_key(conversation), [s.encode("utf-8") for s in texts])


def ids_for(conv: ConvKey, chosen: str, rejected: str) -> tuple[str, str, str]:
    """(pair_id, prompt_id, pairset_id) of a normalised pair, its conversation encoded once (ingest's row path)."""
    c, r = chosen.encode("utf-8"), rejected.encode("utf-8")
    lo, hi = (c, r) if chosen <= rejected else (r, c)  # UTF-8 byte order is code point order: sorted() of the texts
    return (
        digest_bytes(_key("pair", conv, (c, r))),
        digest_bytes(_key("prompt", conv, ())),
        digest_bytes(_key("pairset", conv, (lo, hi))),
    )


def prompt_id(conversation: Conversation) -> str:
    """Id of a (normalised) conversation."""
    return digest_bytes(encode_key("prompt", conversation))


def pair_id(conversation: Conversation, chosen: str, rejected: str) -> str:
    """Id of a (normalised) ordered pair."""
    return digest_bytes(encode_key("pair", conversation, (chosen, rejected)))


def pairset_id(conversation: Conversation, a: str, b: str) -> str:
    """Id of a conversation with an unordered set of two responses."""
    return digest_bytes(encode_key("pairset", conversation, sorted((a, b))))


def text_hash(text: str) -> str:
    """Hash of any text (e.g. an embedding's input), to detect changes."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
