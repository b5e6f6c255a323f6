"""Benchmark files as items the evaluator scores.

A :class:`BenchItem` is one prompt with the responses to score and how to judge them:

- ``pair``: ``responses = [chosen, rejected]``; correct when r(chosen) > r(rejected).
  Read through ingest's ``read_file`` for every format ingest knows (RewardBench style =
  ingest's ``flat`` with ``subset`` as the category, ``llmbar``, ``judgebench``, ...), and here
  for RMB pairwise (``conversation_input``, ``chosen.answer``, ``reject.answer``,
  ``category_path``).
- ``rmbench``: RM-Bench's rows (``prompt``, ``chosen``/``rejected`` = 3 style variants each:
  concise, detailed plain, detailed markdown; ``domain``): ``responses = chosen + rejected``
  and the 3x3 grid of chosen i vs rejected j gives easy (i > j: the chosen answer is the more
  styled one), normal (i == j) and hard (i < j) accuracy, as RM-Bench defines them.
- ``bon``: best-of-N sets, one prompt and N candidates with which are correct: RMB's BoN
  layout (``bon_best`` vs ``loser_list``), or ``prompt`` + ``candidates`` + ``correct``
  (booleans), or ``prompt`` + ``response_1..N`` + ``scores`` (PPE-correctness style).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OWN_FORMATS = ("rmb-pairwise", "rmb-bon", "rm-bench", "bon")


@dataclass
class BenchItem:
    kind: str  # pair | rmbench | bon
    conversation: list[dict[str, str]]
    responses: list[str]
    category: str
    correct: list[bool] | None = None  # bon only


def _conversation(prompt: Any) -> list[dict[str, str]]:
    from lake.ids import normalize_role, normalize_text  # lazily: the lake package imports lance

    if isinstance(prompt, str):
        return [{"role": "user", "content": normalize_text(prompt)}]
    return [{"role": normalize_role(t["role"]), "content": normalize_text(t["content"])} for t in prompt]


def _category_path(row: dict[str, Any]) -> str:
    # RMB: "Pairwise_set/Helpfulness/Brainstorming/Idea Development" -> "Helpfulness/Brainstorming"
    parts = str(row.get("category_path") or row.get("category") or "all").split("/")
    return "/".join(parts[1:3]) if len(parts) > 2 else "/".join(parts)


def detect_own(row: Any) -> str | None:
    """The evaluator's own formats, from a first row's keys; None for ingest's formats."""
    if not isinstance(row, dict):
        return None
    if "conversation_input" in row and "bon_best" in row:
        return "rmb-bon"
    if "conversation_input" in row and isinstance(row.get("chosen"), dict) and isinstance(row.get("reject"), dict):
        return "rmb-pairwise"
    chosen, rejected = row.get("chosen"), row.get("rejected")
    if isinstance(chosen, list) and isinstance(rejected, list) and chosen and isinstance(chosen[0], str):
        return "rm-bench"
    if "candidates" in row and "correct" in row:
        return "bon"
    if "response_1" in row and isinstance(row.get("scores"), list):
        return "bon"
    return None


def _own_items(fmt: str, path: Path) -> Iterator[BenchItem]:
    from pipelines.ingest.model import Rejected
    from pipelines.ingest.sources import iter_rows

    for _i, row in iter_rows(path):
        if isinstance(row, Rejected):
            continue
        if fmt == "rmb-pairwise":
            yield BenchItem(
                "pair",
                _conversation(row["conversation_input"]),
                [row["chosen"]["answer"], row["reject"]["answer"]],
                _category_path(row),
            )
        elif fmt == "rmb-bon":
            losers = [x["answer"] for x in row["loser_list"]]
            yield BenchItem(
                "bon",
                _conversation(row["conversation_input"]),
                [row["bon_best"]["answer"], *losers],
                _category_path(row),
                [True] + [False] * len(losers),
            )
        elif fmt == "rm-bench":
            if len(row["chosen"]) != 3 or len(row["rejected"]) != 3:
                raise ValueError(f"{path}: RM-Bench rows need 3 chosen and 3 rejected variants (row {_i})")
            yield BenchItem(
                "rmbench",
                _conversation(row["prompt"]),
                [*row["chosen"], *row["rejected"]],
                str(row.get("domain") or "all"),
            )
        else:
            yield _bon_item(row)


def _bon_item(row: dict[str, Any]) -> BenchItem:
    conv = _conversation(row.get("prompt") or row.get("conversation"))
    category = str(row.get("category") or row.get("subset") or "all")
    if "candidates" in row:
        return BenchItem("bon", conv, [str(c) for c in row["candidates"]], category, [bool(c) for c in row["correct"]])
    n = len(row["scores"])
    return BenchItem(
        "bon", conv, [str(row[f"response_{k}"]) for k in range(1, n + 1)], category, [bool(s) for s in row["scores"]]
    )


def bench_files(path: Path) -> list[Path]:
    """A file, or every .json/.jsonl/.parquet file under a folder (sorted)."""
    if path.is_file():
        return [path]
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such benchmark file or folder")
    files = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".jsonl", ".parquet") or p.name.endswith(".gz"))
    if not files:
        raise FileNotFoundError(f"{path}: no .json/.jsonl/.parquet files under it")
    return files


def read_bench(path: str | Path, format: str = "auto", limit: int | None = None) -> Iterator[BenchItem]:
    """Every item of a benchmark file or folder (rows that do not parse are skipped, as ingest quarantines them)."""
    from pipelines.ingest import RawPair, read_file
    from pipelines.ingest.sources import first_row

    for file in bench_files(Path(path)):
        fmt = format if format != "auto" else (detect_own(first_row(file)) or "auto")
        it: Iterator[BenchItem]
        if fmt in OWN_FORMATS:
            it = _own_items(fmt, file)
        else:
            fmt = {"rewardbench": "flat"}.get(fmt, fmt)
            it = (
                BenchItem("pair", r.conversation, [r.chosen, r.rejected], r.category or file.parent.name)
                for r in read_file(file, fmt)
                if isinstance(r, RawPair) and not r.is_tie
            )
        for n, item in enumerate(it):
            if limit is not None and n >= limit:
                break
            yield item


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Small helper for tests and examples: rows as JSON lines."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
