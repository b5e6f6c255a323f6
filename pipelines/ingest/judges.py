"""Judge-evaluation sets: PandaLM, Auto-J, LLMBar, EvalBiasBench, JudgeBench, read from one table.

Each names its prompt and its two responses its own way and labels the better one with its own
code; a :class:`JudgeSet` row of :data:`JUDGE_SETS` says which fields and how the label reads,
and :meth:`JudgeSet.read` maps every row to (chosen, rejected, is_tie), keeping the original label
in ``label_details``. A row without a required field is ``missing_field``; a label outside the
set's codes is ``unknown_label``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.ingest.model import RawPair, Rejected, make_pair, missing, reject, user_prompt
from pipelines.ingest.sources import iter_rows, load_json

Row = Mapping[str, Any]
Verdict = tuple[int, dict[str, Any]] | str  # (winner: 1 a, 2 b, 0 tie; label_details), or why the label is unknown
GroupedRows = Iterator[tuple[int, Row | Rejected, str | None]]  # (row index, row, the group it was listed under)


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


# ----------------------------------------------------------------------------- labels
def _coded_label(winners: dict[int, int], codes: str, default: Any = None) -> Callable[[Row], Verdict]:
    """A ``label`` field holding one of ``winners``' codes (1, "1", 1.0 alike); ``default`` when it is absent."""

    def verdict(row: Row) -> Verdict:
        label = _code(row.get("label", default))
        if label not in winners:
            return f"label {row.get('label', default)!r} is not {codes}"
        return winners[label], {"label": label}

    return verdict


def _pandalm_votes(row: Row) -> Verdict:
    """Three annotators vote 0 (tie), 1 or 2; the majority decides, no majority is a tie."""
    votes = [_code(row[f"annotator{k}"]) for k in (1, 2, 3)]
    if any(v not in (0, 1, 2) for v in votes):
        return f"annotator votes {votes} outside 0 (tie) / 1 / 2"
    top, count = Counter(votes).most_common(1)[0]
    winner = top if count >= 2 else 0
    return winner, {"votes": votes, "majority": winner, "has_majority": count >= 2, "cmp_key": row.get("cmp_key")}


def _judgebench_label(row: Row) -> Verdict:
    """``A>B`` or ``B>A`` (spaces ignored); the set's ids and the label are kept."""
    label = str(row["label"]).replace(" ", "")
    if label not in ("A>B", "B>A"):
        return f"label {row['label']!r} is not 'A>B' or 'B>A'"
    details = {k: row[k] for k in ("label", "pair_id", "original_id", "response_model") if row.get(k) is not None}
    return 1 if label == "A>B" else 2, details


# ----------------------------------------------------------------------------- rows
def _plain_rows(path: Path) -> GroupedRows:
    for i, row in iter_rows(path):
        yield i, row, None


def _grouped_rows(path: Path) -> GroupedRows:
    """EvalBiasBench: one object keyed by bias type, its values the row lists (or an array of its rows)."""
    data = load_json(path)
    items = [(bias, item) for bias, rows in data.items() for item in rows] if isinstance(data, dict) else []
    if isinstance(data, list):
        items = [(None, item) for item in data]
    for i, (bias, row) in enumerate(items):
        if not isinstance(row, dict):
            yield i, reject(i, "unparseable", f"a JSON {type(row).__name__}, not an object", row), bias
        else:
            yield i, row, bias


def _llmbar_category(path: Path, row: Row, group: str | None) -> Any:
    return path.parent.name if path.name == "dataset.json" else None  # e.g. Natural, GPTInst


def _field(name: str) -> Callable[[Path, Row, str | None], Any]:
    return lambda path, row, group: row.get(name)


# ----------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class JudgeSet:
    """One judge-evaluation set's fields and label."""

    required: tuple[str, ...]  # fields that must be present and not null
    prompt: tuple[str, ...]  # the fields joined into the user turn (blanks skipped)
    responses: tuple[str, str]  # a, b: the winner codes 1 and 2 name them
    verdict: Callable[[Row], Verdict]
    category: Callable[[Path, Row, str | None], Any]
    rows: Callable[[Path], GroupedRows] = _plain_rows

    def read(self, path: Path, label_origin: str | None = "human", **_: Any) -> Iterator[RawPair | Rejected]:
        """The pairs (and rejected rows) of one file of this set."""
        for i, row, group in self.rows(path):
            if isinstance(row, Rejected):
                yield row
                continue
            absent = missing(row, self.required)
            if absent:
                yield reject(i, "missing_field", f"missing {', '.join(absent)}", row)
                continue
            verdict = self.verdict(row)
            if isinstance(verdict, str):
                yield reject(i, "unknown_label", verdict, row)
                continue
            winner, details = verdict
            a, b = self.responses
            yield _ordered(
                i, row, user_prompt(*(row.get(k) for k in self.prompt)), row[a], row[b], winner,
                category=self.category(path, row, group), label_origin=label_origin, label_details=details,
            )  # fmt: skip


JUDGE_SETS: dict[str, JudgeSet] = {
    # three annotator votes, the majority decides
    "pandalm": JudgeSet(("instruction", "response1", "response2", "annotator1", "annotator2", "annotator3"),
                        ("instruction", "input"), ("response1", "response2"), _pandalm_votes,
                        _field("motivation_app")),
    # label 0 (response 1 better), 1 (response 2 better), 2 (tie)
    "autoj": JudgeSet(("prompt", "response 1", "response 2", "label"), ("prompt",), ("response 1", "response 2"),
                      _coded_label({0: 1, 1: 2, 2: 0}, "0, 1 or 2"), _field("scenario")),
    # LLMBar and its Processed sets: label 1 or 2; category: the set's folder
    "llmbar": JudgeSet(("input", "output_1", "output_2", "label"), ("input",), ("output_1", "output_2"),
                       _coded_label({1: 1, 2: 2}, "1 or 2"), _llmbar_category),
    # response1 is the better one unless label says 2; category: the row's bias, else its group's
    "evalbiasbench": JudgeSet(("instruction", "response1", "response2"), ("instruction",), ("response1", "response2"),
                              _coded_label({1: 1, 2: 2}, "1 or 2", default=1),
                              lambda path, row, group: row.get("bias") or group, _grouped_rows),
    # label A>B or B>A; category: the row's source
    "judgebench": JudgeSet(("question", "response_A", "response_B", "label"), ("question",),
                           ("response_A", "response_B"), _judgebench_label, _field("source")),
}  # fmt: skip

read_pandalm = JUDGE_SETS["pandalm"].read
read_autoj = JUDGE_SETS["autoj"].read
read_llmbar = JUDGE_SETS["llmbar"].read
read_evalbiasbench = JUDGE_SETS["evalbiasbench"].read
read_judgebench = JUDGE_SETS["judgebench"].read
