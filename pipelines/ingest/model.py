"""Row-level results of the readers, and the one place a candidate becomes a pair.

Every reader turns a source row into ``(conversation, a, b, ...)`` and calls
:func:`make_pair`, which normalises text and roles (as :mod:`lake.ids` does), puts a
tie in canonical order (as :func:`lake.records.pair_row` does) and returns either a
:class:`RawPair` or a :class:`Rejected` with a reason code from
:data:`lake.schemas.QUARANTINE_REASONS`. Readers never raise for a bad row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lake.ids import normalize_role, normalize_text
from lake.schemas import QUARANTINE_REASONS

RAW_LIMIT = 64 * 1024  # quarantine keeps at most this many characters of a raw row


@dataclass(slots=True)
class RawPair:
    """One preference pair as read: normalised text, the final assistant turns apart."""

    conversation: list[dict[str, str]]
    chosen: str
    rejected: str
    is_tie: bool
    category: str | None
    label_origin: str | None
    label_details: dict | None
    source_row: int


@dataclass(slots=True)
class Rejected:
    """A source row that could not become a pair, and why.

    A whole-file fault (``reason`` in :data:`FILE_FAULTS`) is one of these too, at the row where
    reading stopped, with ``offset`` the byte (of the decompressed data) where it did.
    """

    source_row: int
    reason: str
    detail: str
    raw: str
    offset: int | None = None

    def __post_init__(self) -> None:
        if self.reason not in QUARANTINE_REASONS:
            raise ValueError(f"unknown quarantine reason {self.reason!r}; add it to lake.schemas.QUARANTINE_REASONS")


FILE_FAULTS = ("truncated", "corrupt_file", "empty_file")


class FileFault(ValueError):
    """A fault of a whole file (truncated, corrupt, empty): reading it stops there.

    The sources raise it where the row it stopped at may not be known yet (``row`` None), and
    turn it into the file's fault row with :meth:`rejected` once it is. ``offset``: the byte of
    the (decompressed) data where reading stopped; ``raw``: the incomplete row, if any.
    """

    def __init__(
        self, reason: str, what: str, offset: int | None = None, raw: Any = b"",
        row: int | None = None, line: int | None = None,
    ) -> None:  # fmt: skip
        if reason not in FILE_FAULTS:
            raise ValueError(f"not a file fault: {reason!r}")
        super().__init__(what)
        self.reason, self.what, self.offset, self.raw, self.row, self.line = reason, what, offset, raw, row, line

    def rejected(self, row: int | None = None, line: int | None = None) -> Rejected:
        """The fault row, at ``row`` (default: the row it was raised with, else 0); ``line``: its line."""
        row = (self.row or 0) if row is None else row
        line = self.line if line is None else line
        where = f"row {row}" + ("" if line is None else f" (line {line})")
        where += "" if self.offset is None else f", byte {self.offset}"
        return Rejected(row, self.reason, f"{self.what} [at {where}]", raw_text(self.raw), self.offset)


def raw_text(row: Any) -> str:
    """The raw row as text for the quarantine table (JSON where possible, truncated)."""
    if isinstance(row, (bytes, bytearray)):
        text = row.decode("utf-8", errors="replace")
    elif isinstance(row, str):
        text = row
    else:
        try:
            text = json.dumps(row, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = repr(row)
    return text[:RAW_LIMIT]


def reject(row_index: int, reason: str, detail: str, row: Any) -> Rejected:
    return Rejected(row_index, reason, detail, raw_text(row))


def missing(row: Mapping[str, Any], fields: Sequence[str]) -> list[str]:
    """Required fields that are absent or null."""
    return [f for f in fields if row.get(f) is None]


def as_text(value: Any) -> str | None:
    """A response or prompt value as a string; None when it is not text."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def user_prompt(*parts: Any) -> list[dict[str, str]]:
    """A one-turn conversation from prompt parts (e.g. instruction + input), blanks skipped."""
    text = "\n\n".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    return [{"role": "user", "content": text}]


def normal_conversation(
    row_index: int, row: Any, conversation: Sequence[Mapping[str, Any]]
) -> list[dict[str, str]] | Rejected:
    """The turns normalised (roles and text as :mod:`lake.ids` does), ending with a non-empty user turn."""
    try:
        conv = [
            {"role": normalize_role(str(t["role"])), "content": normalize_text(as_text(t["content"]) or "")}
            for t in conversation
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return reject(row_index, "bad_conversation", f"conversation turn is malformed: {exc}", row)
    if not conv or conv[-1]["role"] == "assistant":
        return reject(row_index, "bad_conversation", "conversation must end with a user (or system) turn", row)
    if not conv[-1]["content"]:
        return reject(row_index, "bad_conversation", "the last user turn is empty", row)
    return conv


def make_pair(
    row_index: int,
    row: Any,
    conversation: Sequence[Mapping[str, Any]],
    chosen: Any,
    rejected: Any,
    *,
    is_tie: bool = False,
    category: Any = None,
    label_origin: str | None = None,
    label_details: dict | None = None,
) -> RawPair | Rejected:
    """Validate and normalise one candidate pair."""
    chosen_t, rejected_t = as_text(chosen), as_text(rejected)
    if chosen_t is None or rejected_t is None:
        which = "chosen" if chosen_t is None else "rejected"
        value = chosen if chosen_t is None else rejected
        if value is None:
            return reject(row_index, "missing_field", f"{which} response is missing", row)
        return reject(row_index, "unparseable", f"{which} response is a {type(value).__name__}, not text", row)
    conv = normal_conversation(row_index, row, conversation)
    if isinstance(conv, Rejected):
        return conv
    chosen_n, rejected_n = normalize_text(chosen_t), normalize_text(rejected_t)
    if not chosen_n or not rejected_n:
        which = "chosen" if not chosen_n else "rejected"
        return reject(row_index, "empty_response", f"{which} response is empty", row)
    if chosen_n == rejected_n:
        return reject(row_index, "identical_responses", "chosen and rejected are identical after normalisation", row)
    if is_tie:  # a tie has no order: canonicalise so both orders get one id
        chosen_n, rejected_n = sorted((chosen_n, rejected_n))
    return RawPair(
        conversation=conv,
        chosen=chosen_n,
        rejected=rejected_n,
        is_tie=is_tie,
        category=None if category is None else str(category),
        label_origin=label_origin,
        label_details=label_details,
        source_row=row_index,
    )
