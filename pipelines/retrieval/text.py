"""What the embedder sees: the serialisation of a pair's (conversation, attributes).

Retrieval embeds ``(x, a)``: the conversation plus its preference attributes (docs/method.md,
Stage 1 step 5). The attributes come first, as a compact header, because MiniLM reads only
the first 256 tokens and a long conversation would otherwise push them out. The free-text
guideline is left out: it is long and would dominate the similarity. Near-duplicate
detection embeds the conversation alone (:func:`conversation_text`); for a pair without
attributes both texts are identical, so their hashes match and the vector is reused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

ATTRIBUTE_FIELDS = ("task_category", "objectivity", "controversiality", "desired_attributes")


def conversation_text(conversation: Sequence[Mapping[str, Any]]) -> str:
    """Every turn as ``role: content`` on its own lines."""
    return "\n".join(f"{turn.get('role') or 'user'}: {turn.get('content') or ''}" for turn in conversation)


def attributes_header(attributes: Mapping[str, Any] | None) -> str:
    """A one-line summary of the attributes, or ``""`` when there are none."""
    if not attributes:
        return ""
    parts = []
    if attributes.get("task_category"):
        parts.append(f"task: {attributes['task_category']}")
    if attributes.get("objectivity"):
        parts.append(str(attributes["objectivity"]))
    if attributes.get("controversiality"):
        parts.append(f"{attributes['controversiality']} controversy")
    desired = attributes.get("desired_attributes")
    if desired is not None and len(desired):
        parts.append("desired: " + ", ".join(str(d) for d in desired))
    return "[" + "; ".join(parts) + "]" if parts else ""


def pair_text(conversation: Sequence[Mapping[str, Any]], attributes: Mapping[str, Any] | None = None) -> str:
    """The ``(x, a)`` text embedded for retrieval."""
    header = attributes_header(attributes)
    body = conversation_text(conversation)
    return f"{header}\n{body}" if header else body


def text_hash(text: str) -> str:
    """A stable content hash of an embedded text (128 bits of SHA-256, hex)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
