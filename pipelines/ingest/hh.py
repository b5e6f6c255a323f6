"""Anthropic hh-rlhf dialogues: ``chosen`` and ``rejected`` are whole transcripts.

The two transcripts share every turn but the last assistant turn. The split point is
found inside their longest common prefix: the last ``"\\n\\nAssistant:"`` marker in
that prefix whose preceding turn is a human turn. Splitting at the last marker of a
transcript alone would be wrong when a response itself contains a fake
``"\\n\\nAssistant:"`` line; requiring a human turn before the marker also skips a
fake marker shared by both responses. No such marker: ``unsplittable_dialogue``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.ingest.model import RawPair, Rejected, make_pair, reject
from pipelines.ingest.sources import iter_rows

ASSISTANT = "\n\nAssistant:"
_MARKER = re.compile(r"\n\n(Human|Assistant):")


def _turns(prefix: str) -> list[tuple[str, int, int]]:
    """(role, marker start, content start) of every marker in ``prefix``."""
    return [(m.group(1), m.start(), m.end()) for m in _MARKER.finditer(prefix)]


def common_prefix_len(a: str, b: str) -> int:
    """Length of the longest common prefix (binary search over C-level slice compares)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def split_dialogue(chosen: str, rejected: str) -> tuple[list[dict[str, str]], str, str] | None:
    """(conversation, chosen final turn, rejected final turn), or None when unsplittable."""
    n = common_prefix_len(chosen, rejected)
    prefix = chosen[:n]
    if not prefix.startswith("\n\n"):
        prefix = "\n\n" + prefix  # some rows drop the leading blank line
        chosen, rejected = "\n\n" + chosen, "\n\n" + rejected
    turns = _turns(prefix)
    for k in range(len(turns) - 1, 0, -1):
        role, _start, content_start = turns[k]
        if role == "Assistant" and turns[k - 1][0] == "Human" and content_start <= len(prefix):
            conversation = [
                {"role": "user" if r == "Human" else "assistant", "content": prefix[c : turns[j + 1][1]]}
                for j, (r, _s, c) in enumerate(turns[:k])
            ]
            if turns[0][1] != 0:  # text before the first marker: not a dialogue we understand
                return None
            return conversation, chosen[content_start:], rejected[content_start:]
    return None


def read_hh(path: Path, label_origin: str | None = "human", **_: Any) -> Iterator[RawPair | Rejected]:
    for i, row in iter_rows(path):
        if isinstance(row, Rejected):
            yield row
            continue
        chosen, rejected = row.get("chosen"), row.get("rejected")
        if chosen is None or rejected is None:
            yield reject(i, "missing_field", "hh-rlhf rows need 'chosen' and 'rejected'", row)
            continue
        if not isinstance(chosen, str) or not isinstance(rejected, str):
            yield reject(i, "unparseable", "hh-rlhf 'chosen'/'rejected' must be transcripts (strings)", row)
            continue
        if chosen == rejected:
            yield reject(i, "identical_responses", "the two transcripts are identical", row)
            continue
        split = split_dialogue(chosen, rejected)
        if split is None:
            detail = "no '\\n\\nAssistant:' turn after a human turn inside the shared prefix of the two transcripts"
            yield reject(i, "unsplittable_dialogue", detail, row)
            continue
        conversation, c, r = split
        yield make_pair(i, row, conversation, c, r, label_origin=label_origin)
