"""The layout registry: every file layout that ``prefhouse ingest`` and ``prefhouse eval`` read, in one place.

A :class:`Layout` is a name, a detector over the keys of a file's first row (keys it must have,
keys of which it needs one, keys it must not have and, where keys alone do not settle it, a
check of the values' shapes) and one parser. :data:`LAYOUTS` is ordered: the first layout whose
detector accepts the row is the file's. There are two kinds:

- **pair layouts** (``hh-rlhf``, ``flat``, ``trl``, ``pandalm``, ``autoj``, ``llmbar``,
  ``evalbiasbench``, ``judgebench``, ``arena``, ``pku-saferlhf``, ``generic``, and
  ``rewardbench``, RewardBench v1, read as ``flat``): the parser is ingest's reader of that
  format (:mod:`pipelines.ingest.flat`, :mod:`~pipelines.ingest.judges`, ...), which yields
  :class:`RawPair` rows. Plain ``prefhouse ingest`` writes them to ``pairs``.
- **benchmark layouts** (``rewardbench-v2``, ``rm-bench``, ``rmb-pairwise``, ``rmb-bon``,
  ``ppe-preference``, ``ppe-correctness``, ``bon``): several responses per prompt, or a label
  that is not a pair's; the parser turns one row into a :class:`BenchItem`. Plain ingest
  refuses these files and says to pass ``--as-benchmark``.

:func:`iter_items` reads a file of any layout as :class:`~lake.benchmarks.BenchItem` rows (and
:class:`Rejected` rows for what does not parse, with ingest's reason codes): ``prefhouse ingest
--as-benchmark`` keeps the first user turn and the item id of each (``benchmark_prompts``);
:func:`read_bench` (at most N items per file) and :func:`read_spread` (N spread over each file's
categories) are the items the evaluator (:mod:`rm.evaluate`) scores, as the item's ``kind`` says
(:mod:`lake.benchmarks`), handed to it by ``prefhouse eval`` and the round's ``eval_benchmarks`` step.

The item id is the row's own id field where the layout has one (``id``, ``pair_id``,
``pair_uid``, ``bon_uid``, ``question_id``, ...), else its row index in the file. docs/benchmarks.md
lists every layout with its detector and how it is judged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lake.benchmarks import BenchItem
from lake.ids import normalize_text
from pipelines.ingest.arena import read_arena, read_pku
from pipelines.ingest.flat import read_flat, read_generic, read_trl
from pipelines.ingest.hh import ASSISTANT, read_hh
from pipelines.ingest.judges import read_autoj, read_evalbiasbench, read_judgebench, read_llmbar, read_pandalm
from pipelines.ingest.model import (
    FileFault,
    RawPair,
    Rejected,
    as_text,
    normal_conversation,
    reject,
    user_prompt,
)
from pipelines.ingest.sources import expand_paths, first_row, iter_rows, suffix

Reader = Callable[..., Iterator[RawPair | Rejected]]
Row = Mapping[str, Any]


@dataclass(frozen=True)
class Layout:
    """A file layout: its detector and its parser (a pair reader, or a row parser)."""

    name: str
    title: str  # the benchmark or dataset whose layout it is
    requires: frozenset[str] | None  # None: never detected (``generic`` needs ``--map``)
    judged: str  # how eval judges its items: pair (ties aside) | rmbench | bon
    any_of: frozenset[str] = frozenset()
    excludes: frozenset[str] = frozenset()
    shape: Callable[[Row], bool] | None = None  # value shapes the keys alone do not settle
    reader: Reader | None = None  # pair layouts: ingest's reader
    parse: Callable[[int, Row], BenchItem | Rejected] | None = None  # benchmark layouts: one row
    ingest_format: str | None = None  # the plain-ingest format of a pair layout (None: a benchmark layout)
    grouped: bool = False  # the file may be one object keyed by category, its values the row lists

    def matches(self, row: Row) -> bool:
        keys = set(row)
        if self.requires is None or not self.requires <= keys or self.excludes & keys:
            return False
        if self.any_of and not self.any_of & keys:
            return False
        return self.shape is None or self.shape(row)


# ----------------------------------------------------------------------------- value shapes
def _is_messages(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(t, dict) and "role" in t for t in value)


def _is_texts(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _text_lists(row: Row) -> bool:
    return _is_texts(row["chosen"]) and _is_texts(row["rejected"])


# ----------------------------------------------------------------------------- row helpers
ID_KEYS = ("id", "pair_id", "pair_uid", "bon_uid", "question_id", "prompt_id", "uid", "idx")


def _item_id(row: Mapping[str, Any] | None, i: int, keys: tuple[str, ...] = ID_KEYS) -> str:
    """The row's own id (the first of ``keys`` it has), else its row index."""
    for key in keys:
        value = None if row is None else row.get(key)
        if value is not None and str(value) != "":
            return str(value)
    return str(i)


def _category(row: Row, keys: tuple[str, ...]) -> str:
    return next((str(row[k]) for k in keys if row.get(k) not in (None, "")), "")


def _turns(i: int, row: Row, prompt: Any) -> list[dict[str, str]] | Rejected:
    """A prompt given as text or as a message list, as a normalised conversation."""
    if isinstance(prompt, str):
        return normal_conversation(i, row, user_prompt(prompt))
    if _is_messages(prompt):
        return normal_conversation(i, row, prompt)
    if prompt is None:
        return reject(i, "missing_field", "the prompt is missing", row)
    return reject(i, "unparseable", f"the prompt is a {type(prompt).__name__}, not text or messages", row)


def _responses(i: int, row: Row, values: list[Any], what: str = "response") -> list[str] | Rejected:
    """Responses as normalised text; the first that is missing, not text or empty rejects the row."""
    out = []
    for k, value in enumerate(values):
        text = as_text(value)
        if text is None:
            if value is None:
                return reject(i, "missing_field", f"{what} {k + 1} is missing", row)
            return reject(i, "unparseable", f"{what} {k + 1} is a {type(value).__name__}, not text", row)
        text = normalize_text(text)
        if not text:
            return reject(i, "empty_response", f"{what} {k + 1} is empty", row)
        out.append(text)
    return out


def _item(
    i: int, row: Row, layout: str, kind: str, prompt: Any, responses: list[Any], category: str,
    id_keys: tuple[str, ...], correct: list[bool] | None = None,
) -> BenchItem | Rejected:  # fmt: skip
    conv = _turns(i, row, prompt)
    if isinstance(conv, Rejected):
        return conv
    texts = _responses(i, row, responses)
    if isinstance(texts, Rejected):
        return texts
    return BenchItem(kind, conv, texts, category, correct, _item_id(row, i, id_keys), i, layout)


def _answer(value: Any) -> Any:
    """RMB's response objects: ``{"llm_name": ..., "answer": ...}``."""
    return value.get("answer") if isinstance(value, Mapping) else value


# ----------------------------------------------------------------------------- benchmark parsers
def _rmb_category(row: Row) -> str:
    # RMB: "Pairwise_set/Helpfulness/Brainstorming/Idea Development" -> "Helpfulness/Brainstorming"
    parts = str(row.get("category_path") or row.get("category") or "").split("/")
    return "/".join(parts[1:3]) if len(parts) > 2 else "/".join(parts)


def parse_rmb_pairwise(i: int, row: Row) -> BenchItem | Rejected:
    """RMB pairwise: ``conversation_input`` (messages), ``chosen.answer`` beats ``reject.answer``."""
    responses = [_answer(row["chosen"]), _answer(row["reject"])]
    return _item(i, row, "rmb-pairwise", "pair", row["conversation_input"], responses, _rmb_category(row),
                 ("pair_uid", "id"))  # fmt: skip


def parse_rmb_bon(i: int, row: Row) -> BenchItem | Rejected:
    """RMB best-of-N: ``bon_best.answer`` is the one correct candidate, ``loser_list[].answer`` the others."""
    losers = row["loser_list"]
    if not isinstance(losers, list) or not losers:
        return reject(i, "unparseable", "RMB best-of-N rows need a non-empty loser_list", row)
    responses = [_answer(row["bon_best"]), *(_answer(x) for x in losers)]
    return _item(i, row, "rmb-bon", "bon", row["conversation_input"], responses, _rmb_category(row),
                 ("bon_uid", "id"), [True] + [False] * len(losers))  # fmt: skip


def parse_rm_bench(i: int, row: Row) -> BenchItem | Rejected:
    """RM-Bench: 3 chosen and 3 rejected style variants (concise, detailed plain, detailed markdown)."""
    chosen, rejected = row["chosen"], row["rejected"]
    if len(chosen) != 3 or len(rejected) != 3:
        detail = f"RM-Bench rows need 3 chosen and 3 rejected variants, not {len(chosen)} and {len(rejected)}"
        return reject(i, "unparseable", detail, row)
    return _item(i, row, "rm-bench", "rmbench", row["prompt"], [*chosen, *rejected], _category(row, ("domain",)),
                 ("id",))  # fmt: skip


def parse_rewardbench_v2(i: int, row: Row) -> BenchItem | Rejected:
    """RewardBench 2: every ``chosen`` response is correct, every ``rejected`` one is not (best-of-N)."""
    chosen, rejected = row["chosen"], row["rejected"]
    if not chosen or not rejected:
        return reject(i, "unparseable", "RewardBench 2 rows need at least one chosen and one rejected", row)
    correct = [True] * len(chosen) + [False] * len(rejected)
    return _item(i, row, "rewardbench-v2", "bon", row["prompt"], [*chosen, *rejected], _category(row, ("subset",)),
                 ("id",), correct)  # fmt: skip


def parse_ppe_correctness(i: int, row: Row) -> BenchItem | Rejected:
    """PPE correctness (best-of-K): ``response_1..K`` and ``scores``, one boolean each (correct or not)."""
    scores = row["scores"]
    if not scores:
        return reject(i, "unparseable", "PPE correctness rows need a non-empty scores list", row)
    absent = [f"response_{k}" for k in range(1, len(scores) + 1) if row.get(f"response_{k}") is None]
    if absent:
        return reject(i, "missing_field", f"{len(scores)} scores but no {', '.join(absent[:3])}", row)
    responses = [row[f"response_{k}"] for k in range(1, len(scores) + 1)]
    return _item(i, row, "ppe-correctness", "bon", row["prompt"], responses, _category(row, ("category", "subset")),
                 ("question_id", "id"), [bool(s) for s in scores])  # fmt: skip


PPE_WINNERS = {"model_a": 1, "model_b": 2, "tie": 0, "tie (bothbad)": 0}


def parse_ppe_preference(i: int, row: Row) -> BenchItem | Rejected:
    """PPE human preference: ``response_1`` (model a) and ``response_2`` (model b), ``winner``."""
    winner = PPE_WINNERS.get(str(row["winner"]).strip().lower())
    if winner is None:
        return reject(i, "unknown_label", f"winner {row['winner']!r} is not one of {', '.join(PPE_WINNERS)}", row)
    a, b = row["response_1"], row["response_2"]
    return _item(i, row, "ppe-preference", "tie" if winner == 0 else "pair", row["prompt"],
                 [b, a] if winner == 2 else [a, b], _category(row, ("category", "subset", "language")),
                 ("question_id", "id"))  # fmt: skip


def parse_bon(i: int, row: Row) -> BenchItem | Rejected:
    """Best-of-N sets: ``prompt``, ``candidates`` and ``correct`` (one boolean per candidate)."""
    candidates, correct = row["candidates"], row["correct"]
    if not isinstance(candidates, list) or not isinstance(correct, list) or len(candidates) != len(correct):
        return reject(i, "unparseable", "candidates and correct must be lists of the same length", row)
    if not candidates:
        return reject(i, "unparseable", "a best-of-N row needs candidates", row)
    return _item(i, row, "bon", "bon", row["prompt"], candidates, _category(row, ("category", "subset")),
                 ("id", "question_id"), [bool(c) for c in correct])  # fmt: skip


# ----------------------------------------------------------------------------- the registry
def _keys(*names: str) -> frozenset[str]:
    return frozenset(names)


def _chosen_is_text(row: Row) -> bool:
    return not isinstance(row["chosen"], (list, dict))


LAYOUTS: tuple[Layout, ...] = (
    # pair layouts with keys of their own (ingest's readers; docs/ingest.md)
    Layout("pandalm", "PandaLM", _keys("annotator1", "response1", "response2"), "pair", reader=read_pandalm,
           ingest_format="pandalm"),
    Layout("autoj", "Auto-J pairwise", _keys("response 1", "response 2"), "pair", reader=read_autoj,
           ingest_format="autoj"),
    Layout("llmbar", "LLMBar", _keys("output_1", "output_2", "label"), "pair", reader=read_llmbar,
           ingest_format="llmbar"),  # category: the set's folder (Natural, GPTInst, ...)
    Layout("judgebench", "JudgeBench", _keys("response_A", "response_B"), "pair", reader=read_judgebench,
           ingest_format="judgebench"),  # label A>B / B>A; category: source; item id: pair_id
    Layout("arena", "Chatbot Arena", _keys("response_a", "response_b", "winner_model_a"), "pair",
           reader=read_arena, ingest_format="arena"),
    Layout("pku-saferlhf", "PKU-SafeRLHF", _keys("response_0", "response_1"), "pair",
           any_of=_keys("better_response_id", "safer_response_id"), reader=read_pku, ingest_format="pku-saferlhf"),
    # one object keyed by bias type (or an array of its rows); response1 is the better one unless label 2
    Layout("evalbiasbench", "EvalBiasBench", _keys("instruction", "response1", "response2"), "pair",
           excludes=_keys("annotator1"), reader=read_evalbiasbench, ingest_format="evalbiasbench", grouped=True),
    # benchmark layouts: several responses per prompt, or a label a pair cannot hold
    Layout("rmb-bon", "RMB best-of-N", _keys("conversation_input", "bon_best", "loser_list"), "bon",
           parse=parse_rmb_bon),
    Layout("rmb-pairwise", "RMB pairwise", _keys("conversation_input", "chosen", "reject"), "pair",
           shape=lambda r: isinstance(r["chosen"], dict) and isinstance(r["reject"], dict), parse=parse_rmb_pairwise),
    Layout("rewardbench-v2", "RewardBench 2", _keys("prompt", "chosen", "rejected"), "bon",
           any_of=_keys("num_correct", "subset"), shape=_text_lists, parse=parse_rewardbench_v2),
    Layout("rm-bench", "RM-Bench", _keys("prompt", "chosen", "rejected"), "rmbench", shape=_text_lists,
           parse=parse_rm_bench),  # after rewardbench-v2: lists of texts without subset / num_correct
    Layout("ppe-correctness", "PPE correctness (best-of-K)", _keys("prompt", "response_1", "scores"), "bon",
           shape=lambda r: isinstance(r["scores"], list), parse=parse_ppe_correctness),
    Layout("bon", "best-of-N sets", _keys("prompt", "candidates", "correct"), "bon", parse=parse_bon),
    Layout("ppe-preference", "PPE human preference", _keys("prompt", "response_1", "response_2", "winner"), "pair",
           excludes=_keys("scores"), parse=parse_ppe_preference),
    # chosen / rejected pair layouts, most specific first
    Layout("rewardbench", "RewardBench", _keys("prompt", "chosen", "rejected", "subset"), "pair",
           shape=_chosen_is_text, reader=read_flat, ingest_format="flat"),  # v1: flat with its subset
    Layout("trl", "TRL conversational", _keys("chosen", "rejected"), "pair",
           shape=lambda r: _is_messages(r["chosen"]) and not isinstance(r.get("prompt"), str), reader=read_trl,
           ingest_format="trl"),
    Layout("flat", "prompt / chosen / rejected", _keys("prompt", "chosen", "rejected"), "pair", reader=read_flat,
           ingest_format="flat"),
    Layout("hh-rlhf", "Anthropic hh-rlhf", _keys("chosen", "rejected"), "pair", excludes=_keys("prompt"),
           shape=lambda r: isinstance(r["chosen"], str) and ASSISTANT in r["chosen"], reader=read_hh,
           ingest_format="hh-rlhf"),
    Layout("generic", "any columns, with --map", None, "pair", reader=read_generic, ingest_format="generic"),
)  # fmt: skip

BY_NAME: dict[str, Layout] = {layout.name: layout for layout in LAYOUTS}
BENCHMARK_LAYOUTS = tuple(layout.name for layout in LAYOUTS if layout.ingest_format is None)


def layout_named(name: str) -> Layout:
    """The layout of a ``--format`` name; ValueError listing the names for an unknown one."""
    if name not in BY_NAME:
        raise ValueError(f"unknown format {name!r}; known: auto, {', '.join(BY_NAME)}")
    return BY_NAME[name]


def _grouped_sample(row: Row) -> Row | None:
    """The first row of a file that is one object keyed by category (EvalBiasBench), else None."""
    if not row or not all(isinstance(v, list) for v in row.values()):
        return None
    sample = next((v[0] for v in row.values() if v), None)
    return sample if isinstance(sample, dict) else None


def detect_row(row: Any) -> Layout | None:
    """The layout a first row's keys (and value shapes) say, or None."""
    if not isinstance(row, dict):
        return None
    found = next((layout for layout in LAYOUTS if layout.matches(row)), None)
    if found is not None:
        return found
    sample = _grouped_sample(row)
    if sample is None:
        return None
    return next((layout for layout in LAYOUTS if layout.grouped and layout.matches(sample)), None)


def detect_layout(path: str | Path) -> Layout:
    """A file's layout from its extension and first row.

    ValueError for an unknown layout (with the hint to pass ``--format``); :class:`FileFault`
    (a ValueError) for a file that cannot be read that far or has no rows.
    """
    path = Path(path)
    ext = suffix(path)
    if ext not in (".jsonl", ".json", ".csv", ".parquet"):
        raise ValueError(f"{path}: cannot detect the format of a {ext or 'extension-less'} file; pass --format")
    try:
        row = first_row(path)
    except FileFault as fault:
        fault.args = (f"{path}: {fault.what}",)
        raise
    except ValueError as exc:
        raise ValueError(f"{path}: the first row does not parse ({exc}); pass --format to quarantine bad rows") from exc
    if row is None:
        fault = FileFault("empty_file", "the file holds no rows", row=0)
        fault.args = (f"{path}: {fault.what}",)
        raise fault
    found = detect_row(row)
    if found is None:
        keys = sorted(row) if isinstance(row, dict) else type(row).__name__
        raise ValueError(
            f"{path}: unknown layout (first row keys: {keys}); pass --format one of {', '.join(BY_NAME)}, "
            "or --format generic --map prompt=COL,chosen=COL,rejected=COL"
        )
    return found


def _from_pair(pair: RawPair, layout: str) -> BenchItem:
    return BenchItem(
        "tie" if pair.is_tie else "pair", pair.conversation, [pair.chosen, pair.rejected], pair.category or "",
        None, _item_id(pair.label_details, pair.source_row), pair.source_row, layout,
    )  # fmt: skip


def not_pairs(path: Path, layout: Layout) -> ValueError:
    """The error for a benchmark layout's file read as pairs."""
    return ValueError(
        f"{path}: {layout.title}'s layout ({layout.name}) holds benchmark items, not pairs: ingest it with "
        "--as-benchmark (its prompts, for decontamination), or score a run on it with prefhouse eval"
    )


def read_pairs(path: Path, layout: Layout, **options: Any) -> Iterator[RawPair | Rejected]:
    """The pairs of a pair layout's file, read by its ingest reader with ``options``."""
    if layout.reader is None:
        raise not_pairs(path, layout)
    if "label_origin" in options and options["label_origin"] is None:
        options = {k: v for k, v in options.items() if k != "label_origin"}  # None: the reader's default
    return layout.reader(path, **options)


def iter_items(path: str | Path, format: str = "auto", **options: Any) -> Iterator[BenchItem | Rejected]:
    """Every row of one file as a :class:`BenchItem`, or a :class:`Rejected` (ingest's reason codes).

    ``format``: a layout name, or ``auto`` to detect it. ``options`` go to a pair layout's reader
    (``label_origin``, ``column_map``, ``label``).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if options.get("column_map") is not None and format == "auto":
        format = "generic"
    layout = detect_layout(path) if format == "auto" else layout_named(format)
    if layout.parse is None:
        for pair in read_pairs(path, layout, **options):
            yield pair if isinstance(pair, Rejected) else _from_pair(pair, layout.name)
        return
    for i, row in iter_rows(path):
        yield row if isinstance(row, Rejected) else layout.parse(i, row)


def bench_files(path: str | Path) -> list[Path]:
    """A file, or every supported file under a folder (sorted): the files ingest would read there."""
    return expand_paths([path])


def read_bench(path: str | Path, format: str = "auto", limit: int | None = None,
               rejected: list[Rejected] | None = None) -> Iterator[BenchItem]:  # fmt: skip
    """The items ``prefhouse eval`` scores, from a benchmark file or folder.

    Ties are not scored; rows that do not parse are skipped (appended to ``rejected`` when
    given), as ingest quarantines them. ``limit``: at most this many items per file. An item
    without a category of its own gets its file's folder name.
    """
    for file in bench_files(path):
        n = 0
        for item in iter_items(file, format):
            if isinstance(item, Rejected):
                if rejected is not None:
                    rejected.append(item)
                continue
            if item.kind == "tie":
                continue
            if limit is not None and n >= limit:
                break
            n += 1
            if not item.category or item.category == "all":  # "all" is the tally's total
                item.category = file.parent.name if file.parent.name not in ("", "all") else "uncategorised"
            yield item


def spread(items: Sequence[BenchItem], limit: int | None) -> list[BenchItem]:
    """At most ``limit`` of ``items``, taken in turn from each category (in file order within one).

    A file grouped by category (EvalBiasBench's bias types) then keeps every category, where
    its first ``limit`` rows would be one or two of them. The items keep their file order.
    """
    if limit is None or len(items) <= limit:
        return list(items)
    queues: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        queues[item.category].append(i)
    picked: list[int] = []
    depth = 0
    while len(picked) < limit:
        picked += [q[depth] for q in queues.values() if depth < len(q)][: limit - len(picked)]
        depth += 1
    return [items[i] for i in sorted(picked)]


def read_spread(path: str | Path, limit: int | None = None, rejected: list[Rejected] | None = None) -> list[BenchItem]:
    """The scored items of a benchmark file or folder, at most ``limit`` per file spread over its
    categories (:func:`spread`); rows that do not parse go to ``rejected``."""
    return [item for file in bench_files(path) for item in spread(list(read_bench(file, rejected=rejected)), limit)]
