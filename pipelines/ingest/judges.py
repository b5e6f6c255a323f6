"""Judge-evaluation sets: PandaLM, Auto-J, LLMBar, EvalBiasBench, JudgeBench.

Each names its two responses its own way and labels the better one with its own code;
the readers map them to (chosen, rejected, is_tie) and keep the original label in
``label_details``. A label outside the format's codes is ``unknown_label``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipelines.ingest.model import RawPair, Rejected, make_pair, missing, reject, user_prompt
from pipelines.ingest.sources import iter_rows, load_json


def _code(value: Any) -> int | None:
    """A label like 1, "1", 1.0 as an int; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and float(value).is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _ordered(i: int, row: Any, conv: list, a: Any, b: Any, winner: int, **kw: Any) -> RawPair | Rejected:
    """winner 1: a is chosen; 2: b is chosen; 0: tie."""
    if winner == 2:
        return make_pair(i, row, conv, b, a, **kw)
    return make_pair(i, row, conv, a, b, is_tie=winner == 0, **kw)


def _rows(path: Path) -> Iterator[tuple[int, Any]]:
    yield from iter_rows(path)


def read_pandalm(path: Path, label_origin: str | None = "human", **_: Any) -> Iterator[RawPair | Rejected]:
    """Three annotators vote 0 (tie), 1 or 2; the majority decides, no majority is a tie."""
    for i, row in _rows(path):
        if isinstance(row, Rejected):
            yield row
            continue
        absent = missing(row, ("instruction", "response1", "response2", "annotator1", "annotator2", "annotator3"))
        if absent:
            yield reject(i, "missing_field", f"missing {', '.join(absent)}", row)
            continue
        votes = [_code(row[f"annotator{k}"]) for k in (1, 2, 3)]
        if any(v not in (0, 1, 2) for v in votes):
            yield reject(i, "unknown_label", f"annotator votes {votes} outside 0 (tie) / 1 / 2", row)
            continue
        top, count = Counter(votes).most_common(1)[0]
        winner = top if count >= 2 else 0
        details = {"votes": votes, "majority": winner, "has_majority": count >= 2, "cmp_key": row.get("cmp_key")}
        conv = user_prompt(row["instruction"], row.get("input"))
        yield _ordered(
            i, row, conv, row["response1"], row["response2"], winner,
            category=row.get("motivation_app"), label_origin=label_origin, label_details=details,
        )  # fmt: skip


def read_autoj(path: Path, label_origin: str | None = "human", **_: Any) -> Iterator[RawPair | Rejected]:
    """Auto-J pairwise: ``response 1`` / ``response 2``; label 0 (1 better), 1 (2 better), 2 (tie)."""
    for i, row in _rows(path):
        if isinstance(row, Rejected):
            yield row
            continue
        absent = missing(row, ("prompt", "response 1", "response 2", "label"))
        if absent:
            yield reject(i, "missing_field", f"missing {', '.join(absent)}", row)
            continue
        label = _code(row["label"])
        if label not in (0, 1, 2):
            yield reject(i, "unknown_label", f"label {row['label']!r} is not 0, 1 or 2", row)
            continue
        winner = {0: 1, 1: 2, 2: 0}[label]
        yield _ordered(
            i, row, user_prompt(row["prompt"]), row["response 1"], row["response 2"], winner,
            category=row.get("scenario"), label_origin=label_origin, label_details={"label": label},
        )  # fmt: skip


def read_llmbar(path: Path, label_origin: str | None = "human", **_: Any) -> Iterator[RawPair | Rejected]:
    """LLMBar (and its Processed sets): ``output_1`` / ``output_2``, label 1 or 2."""
    category = path.parent.name if path.name == "dataset.json" else None  # e.g. Natural, GPTInst
    for i, row in _rows(path):
        if isinstance(row, Rejected):
            yield row
            continue
        absent = missing(row, ("input", "output_1", "output_2", "label"))
        if absent:
            yield reject(i, "missing_field", f"missing {', '.join(absent)}", row)
            continue
        label = _code(row["label"])
        if label not in (1, 2):
            yield reject(i, "unknown_label", f"label {row['label']!r} is not 1 or 2", row)
            continue
        yield _ordered(
            i, row, user_prompt(row["input"]), row["output_1"], row["output_2"], label,
            category=category, label_origin=label_origin, label_details={"label": label},
        )  # fmt: skip


def read_evalbiasbench(path: Path, label_origin: str | None = "human", **_: Any) -> Iterator[RawPair | Rejected]:
    """EvalBiasBench: an object keyed by bias type; ``response1`` is always the better one."""
    data = load_json(path)
    items = [(bias, item) for bias, rows in data.items() for item in rows] if isinstance(data, dict) else []
    if isinstance(data, list):
        items = [(None, item) for item in data]
    for i, (bias, row) in enumerate(items):
        if not isinstance(row, dict):
            yield reject(i, "unparseable", f"a JSON {type(row).__name__}, not an object", row)
            continue
        absent = missing(row, ("instruction", "response1", "response2"))
        if absent:
            yield reject(i, "missing_field", f"missing {', '.join(absent)}", row)
            continue
        label = _code(row.get("label", 1))
        if label not in (1, 2):
            yield reject(i, "unknown_label", f"label {row.get('label')!r} is not 1 or 2", row)
            continue
        yield _ordered(
            i, row, user_prompt(row["instruction"]), row["response1"], row["response2"], label,
            category=row.get("bias") or bias, label_origin=label_origin, label_details={"label": label},
        )  # fmt: skip


def read_judgebench(path: Path, label_origin: str | None = "human", **_: Any) -> Iterator[RawPair | Rejected]:
    """JudgeBench: ``question``, ``response_A`` / ``response_B``, label ``A>B`` or ``B>A``."""
    for i, row in _rows(path):
        if isinstance(row, Rejected):
            yield row
            continue
        absent = missing(row, ("question", "response_A", "response_B", "label"))
        if absent:
            yield reject(i, "missing_field", f"missing {', '.join(absent)}", row)
            continue
        label = str(row["label"]).replace(" ", "")
        if label not in ("A>B", "B>A"):
            yield reject(i, "unknown_label", f"label {row['label']!r} is not 'A>B' or 'B>A'", row)
            continue
        details = {k: row[k] for k in ("label", "pair_id", "original_id", "response_model") if row.get(k) is not None}
        yield _ordered(
            i, row, user_prompt(row["question"]), row["response_A"], row["response_B"], 1 if label == "A>B" else 2,
            category=row.get("source"), label_origin=label_origin, label_details=details,
        )  # fmt: skip
