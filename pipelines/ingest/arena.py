"""Chatbot Arena CSV and PKU-SafeRLHF.

Arena (``lmsys/arena-human-preference-55k`` layout): ``prompt``, ``response_a`` and
``response_b`` are JSON-encoded lists of strings, one element per turn; the winner is
one-hot over ``winner_model_a`` / ``winner_model_b`` / ``winner_tie``. The pair is the
last turn; earlier turns become the conversation. When the two models' earlier answers
differ, the conversation takes the preferred side's history (model a's for a tie) and
``label_details.histories_differ`` says so.

PKU-SafeRLHF: ``better_response_id`` (helpfulness) and ``safer_response_id`` are kept
apart; ``label="better"`` (default) or ``"safer"`` picks which defines chosen, and the
other preference stays in ``label_details``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.ingest.judges import _code
from pipelines.ingest.model import RawPair, Rejected, make_pair, missing, reject
from pipelines.ingest.sources import iter_rows


def _turns(value: Any) -> list[Any] | None:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, list) else None
    return None


def _arena_pair(i: int, row: dict[str, Any], winner: int, label_origin: str | None) -> RawPair | Rejected:
    prompts, a, b = (_turns(row[k]) for k in ("prompt", "response_a", "response_b"))
    if prompts is None or a is None or b is None:
        return reject(i, "unparseable", "prompt/response_a/response_b must be JSON-encoded lists of strings", row)
    if not prompts or len(prompts) != len(a) or len(prompts) != len(b):
        return reject(i, "bad_conversation", f"{len(prompts)} prompts but {len(a)} / {len(b)} responses", row)
    history = b if winner == 2 else a
    conv: list[dict[str, Any]] = []
    for k, user in enumerate(prompts):
        conv.append({"role": "user", "content": user if isinstance(user, str) else ""})
        if k < len(prompts) - 1:
            conv.append({"role": "assistant", "content": history[k] if isinstance(history[k], str) else ""})
    details = {
        "winner": {1: "model_a", 2: "model_b", 0: "tie"}[winner],
        "model_a": row.get("model_a"),
        "model_b": row.get("model_b"),
        "id": row.get("id"),
        "n_turns": len(prompts),
        "histories_differ": a[:-1] != b[:-1],
    }
    first, second = (b[-1], a[-1]) if winner == 2 else (a[-1], b[-1])
    return make_pair(i, row, conv, first, second, is_tie=winner == 0, label_origin=label_origin, label_details=details)


def read_arena(path: Path, label_origin: str | None = "human", **_: Any) -> Iterator[RawPair | Rejected]:
    for i, row in iter_rows(path):
        if isinstance(row, Rejected):
            yield row
            continue
        fields = ("prompt", "response_a", "response_b", "winner_model_a", "winner_model_b", "winner_tie")
        absent = [f for f in fields if row.get(f) in (None, "")]
        if absent:
            yield reject(i, "missing_field", f"missing {', '.join(absent)}", row)
            continue
        hot = [_code(row[f]) for f in ("winner_model_a", "winner_model_b", "winner_tie")]
        if sorted(hot) != [0, 0, 1]:
            yield reject(i, "unknown_label", f"winner columns {hot} are not one-hot", row)
            continue
        yield _arena_pair(i, row, {0: 1, 1: 2, 2: 0}[hot.index(1)], label_origin)


def read_pku(
    path: Path, label_origin: str | None = "human", label: str = "better", **_: Any
) -> Iterator[RawPair | Rejected]:
    if label not in ("better", "safer"):
        raise ValueError(f"PKU-SafeRLHF label must be 'better' or 'safer', not {label!r}")
    key = f"{label}_response_id"
    for i, row in iter_rows(path):
        if isinstance(row, Rejected):
            yield row
            continue
        absent = missing(row, ("prompt", "response_0", "response_1", key))
        if absent:
            yield reject(i, "missing_field", f"missing {', '.join(absent)}", row)
            continue
        better, safer = _code(row.get("better_response_id")), _code(row.get("safer_response_id"))
        chosen_id = better if label == "better" else safer
        if chosen_id not in (0, 1):
            yield reject(i, "unknown_label", f"{key} {row[key]!r} is not 0 or 1", row)
            continue
        details = {
            "chosen_by": label,
            "better_response_id": better,
            "safer_response_id": safer,
            "is_response_0_safe": row.get("is_response_0_safe"),
            "is_response_1_safe": row.get("is_response_1_safe"),
            "is_safer_chosen": None if safer is None else safer == chosen_id,
        }
        chosen, rejected = row[f"response_{chosen_id}"], row[f"response_{1 - chosen_id}"]
        yield make_pair(
            i, row, [{"role": "user", "content": row["prompt"]}], chosen, rejected,
            category=row.get("category"), label_origin=label_origin, label_details=details,
        )  # fmt: skip
