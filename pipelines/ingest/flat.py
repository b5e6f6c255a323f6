"""Flat and chat-message formats, and the generic reader with a column mapping.

- ``flat``: ``prompt`` / ``chosen`` / ``rejected`` strings (RewardBench style, with an
  optional ``subset`` as category), or UltraFeedback binarized, whose ``chosen`` and
  ``rejected`` are message lists and which carries ``score_chosen`` / ``score_rejected``.
- ``trl``: TRL conversational preference rows: ``chosen`` / ``rejected`` message lists,
  with an optional ``prompt`` message list (implicit prompt otherwise: the shared turns).
- ``generic``: any JSONL/JSON/Parquet/CSV with ``column_map`` naming the columns that hold
  prompt, chosen and rejected (and optionally category, tie).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pipelines.ingest.model import RawPair, Rejected, make_pair, missing, reject, user_prompt
from pipelines.ingest.sources import iter_rows

DETAIL_KEYS = ("score_chosen", "score_rejected", "chosen_model", "rejected_model", "prompt_id", "id")


def _messages(value: Any) -> list[dict[str, Any]] | None:
    if isinstance(value, list) and all(isinstance(t, Mapping) and "role" in t for t in value):
        return list(value)
    return None


def conversation_pair(i: int, row: Any, prompt: Any, chosen: Any, rejected: Any, **kw: Any) -> RawPair | Rejected:
    """A pair from any mix of string / message-list prompt and responses."""
    chosen_msgs, rejected_msgs = _messages(chosen), _messages(rejected)
    prompt_msgs = _messages(prompt)
    if prompt_msgs is None and prompt is not None and not isinstance(prompt, str):
        return reject(i, "unparseable", f"prompt is a {type(prompt).__name__}, not text or messages", row)
    conv = prompt_msgs if prompt_msgs is not None else (user_prompt(prompt) if isinstance(prompt, str) else [])
    if chosen_msgs is None and rejected_msgs is None:
        if prompt is None:
            return reject(i, "missing_field", "a prompt is needed when chosen/rejected are plain strings", row)
        return make_pair(i, row, conv, chosen, rejected, **kw)
    if chosen_msgs is None or rejected_msgs is None:
        return reject(i, "bad_conversation", "one of chosen/rejected is a message list and the other is not", row)
    if not chosen_msgs or not rejected_msgs:
        return reject(i, "empty_response", "chosen or rejected has no messages", row)
    c_hist, c_last = chosen_msgs[:-1], chosen_msgs[-1]
    r_hist, r_last = rejected_msgs[:-1], rejected_msgs[-1]
    if str(c_last.get("role", "")).lower() not in ("assistant", "gpt", "bot", "model", "chatbot") or str(
        r_last.get("role", "")
    ).lower() not in ("assistant", "gpt", "bot", "model", "chatbot"):
        return reject(i, "bad_conversation", "the last message of chosen/rejected is not an assistant turn", row)
    if c_hist != r_hist:
        return reject(i, "bad_conversation", "chosen and rejected differ before their final assistant turn", row)
    if prompt_msgs is not None or isinstance(prompt, str):
        # UltraFeedback repeats the prompt inside chosen/rejected; TRL's explicit prompt does not.
        history = c_hist[len(conv) :] if [_key(t) for t in c_hist[: len(conv)]] == [_key(t) for t in conv] else c_hist
        conv = list(conv) + list(history)
    else:
        conv = c_hist
    return make_pair(i, row, conv, c_last.get("content"), r_last.get("content"), **kw)


def _key(turn: Mapping[str, Any]) -> tuple[str, str]:
    return str(turn.get("role", "")).lower().replace("human", "user"), str(turn.get("content", "")).strip()


def _details(row: Mapping[str, Any]) -> dict[str, Any] | None:
    details = {k: row[k] for k in DETAIL_KEYS if row.get(k) is not None}
    if "score_chosen" in details and "score_rejected" in details:
        with contextlib.suppress(TypeError, ValueError):
            details["margin"] = float(details["score_chosen"]) - float(details["score_rejected"])
    return details or None


def flat_item(i: int, row: Mapping[str, Any] | Rejected, label_origin: str | None) -> RawPair | Rejected:
    """One flat row as a pair or a rejected row (the row path; :mod:`~pipelines.ingest.fast.block` does it in bulk)."""
    if isinstance(row, Rejected):
        return row
    absent = missing(row, ("prompt", "chosen", "rejected"))
    if absent:
        return reject(i, "missing_field", f"missing {', '.join(absent)}", row)
    category = row.get("subset") or row.get("category") or row.get("source")
    return conversation_pair(
        i, row, row["prompt"], row["chosen"], row["rejected"],
        category=category, label_origin=label_origin, label_details=_details(row),
    )  # fmt: skip


def read_flat(path: Path, label_origin: str | None = "unknown", **_: Any) -> Iterator[RawPair | Rejected]:
    for i, row in iter_rows(path):
        yield flat_item(i, row, label_origin)


def read_trl(path: Path, label_origin: str | None = "unknown", **_: Any) -> Iterator[RawPair | Rejected]:
    for i, row in iter_rows(path):
        if isinstance(row, Rejected):
            yield row
            continue
        absent = missing(row, ("chosen", "rejected"))
        if absent:
            yield reject(i, "missing_field", f"missing {', '.join(absent)}", row)
            continue
        if _messages(row["chosen"]) is None or _messages(row["rejected"]) is None:
            yield reject(i, "unparseable", "TRL conversational rows need chosen/rejected as message lists", row)
            continue
        yield conversation_pair(
            i, row, row.get("prompt"), row["chosen"], row["rejected"],
            category=row.get("category"), label_origin=label_origin, label_details=_details(row),
        )  # fmt: skip


MAP_KEYS = ("prompt", "chosen", "rejected", "category", "tie")


def parse_column_map(spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """``"prompt=question,chosen=good,rejected=bad"`` (or a dict) to a checked mapping."""
    if spec is None:
        raise ValueError(
            "the generic reader needs a column mapping, e.g. --map prompt=question,chosen=good,rejected=bad"
        )
    if isinstance(spec, str):
        items = [p.split("=", 1) for p in spec.split(",") if p.strip()]
        if any(len(p) != 2 for p in items):
            raise ValueError(f"bad --map {spec!r}: write field=column pairs separated by commas")
        spec = {k.strip(): v.strip() for k, v in items}
    unknown = sorted(set(spec) - set(MAP_KEYS))
    if unknown:
        raise ValueError(f"--map: unknown field(s) {unknown}; known: {', '.join(MAP_KEYS)}")
    absent = [k for k in ("chosen", "rejected") if k not in spec]
    if absent:
        raise ValueError(f"--map must name a column for {', '.join(absent)}")
    return dict(spec)


def read_generic(
    path: Path, column_map: str | Mapping[str, str] | None = None, label_origin: str | None = "unknown", **_: Any
) -> Iterator[RawPair | Rejected]:
    mapping = parse_column_map(column_map)
    for i, row in iter_rows(path):
        if isinstance(row, Rejected):
            yield row
            continue
        absent = [f"{k} (column {c!r})" for k, c in mapping.items() if k != "category" and row.get(c) is None]
        if absent:
            yield reject(i, "missing_field", f"missing {', '.join(absent)}", row)
            continue
        tie = mapping.get("tie")
        yield conversation_pair(
            i, row, row.get(mapping["prompt"]) if "prompt" in mapping else None,
            row[mapping["chosen"]], row[mapping["rejected"]],
            is_tie=str(row.get(tie)).strip().lower() in ("1", "true", "yes") if tie else False,
            category=row.get(mapping["category"]) if "category" in mapping else None,
            label_origin=label_origin,
        )  # fmt: skip
