"""Checkable preference pairs built from real prompts and responses of the sample data.

Each pair takes a real (conversation, response) from ``data/`` (hh-rlhf, PandaLM, LLMBar),
appends a verifiable instruction to the last user turn, and makes two versions of the same
real response: the chosen one satisfies the instruction, the rejected one is edited to break
it. :func:`satisfies` is the checker; every pair is verified with it when built, so the true
label is known. Instructions (all checks are case-insensitive: the MiniLM tokenizer is
uncased, so nothing here rests on letter case):

- ``max_words``: "Answer in at most N words." chosen = the response cut to N words at a
  sentence or word boundary, rejected = the full response (longer than N);
- ``include_word``: "Include the word W." W is a word of the response; rejected = the
  response with W deleted;
- ``exclude_word``: "Do not mention the word W." chosen = the response with W deleted,
  rejected = the response as it was (the mirror of ``include_word``: the same edit, the
  opposite label, so only the instruction tells them apart);
- ``bullets``: "Answer as a list of exactly K bullet points." chosen = the response's text in
  K ``- `` lines, rejected = the same text in K+1 (or K-1) lines, or as one paragraph;
- ``end_phrase``: "End your answer with the phrase P." chosen = response + P, rejected = P +
  response (the phrase is there, in the wrong place) or the response alone.

:func:`flip_labels` swaps chosen and rejected on a known, seeded share of pairs and returns
which: the noise-recovery benchmark of issue 7 injects label noise with it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

KINDS = ("max_words", "include_word", "exclude_word", "bullets", "end_phrase")
PHRASES = (
    "hope this helps.",
    "is there anything else i can help with?",
    "that is all for now.",
    "thanks for asking.",
    "let me know if you have more questions.",
)
_STOP_TEXT = (
    "the a an and or but if then than that this these those there their they them you your yours we our "
    "is are was were be been being have has had do does did not no yes with without for from into onto "
    "about over under what which who whom when where why how can could would should will shall may might "
    "must also just very more most some any each other such only own same so too its it's i'm i've here "
    "his her hers him she he me my mine out off all both few many much "
)
STOPWORDS = frozenset(_STOP_TEXT.split())
SOURCES = {
    "hh-rlhf": ("hh-rlhf/helpful-base/test.jsonl.gz", "hh-rlhf"),
    "pandalm": ("pandalm/testset-v1.json", "pandalm"),
    "llmbar": ("llmbar/LLMBar/Natural/dataset.json", "llmbar"),
}


@dataclass(frozen=True)
class Instruction:
    kind: str
    text: str
    n: int | None = None
    word: str | None = None
    phrase: str | None = None


@dataclass
class CheckablePair:
    conversation: list[dict[str, str]]
    chosen: str
    rejected: str
    instruction: Instruction
    source: str
    is_flipped: bool = False
    base: dict[str, Any] = field(default_factory=dict)


def _words(text: str) -> list[str]:
    return text.split()


def _bullets(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip().startswith("- ")]


def satisfies(ins: Instruction, response: str) -> bool:
    """Whether ``response`` follows ``ins`` (case-insensitive)."""
    low = response.lower()
    if ins.kind == "max_words":
        return len(_words(response)) <= int(ins.n or 0)
    if ins.kind in ("include_word", "exclude_word"):
        found = re.search(rf"\b{re.escape(str(ins.word))}\b", low) is not None
        return found if ins.kind == "include_word" else not found
    if ins.kind == "bullets":
        lines = [ln for ln in response.splitlines() if ln.strip()]
        return len(lines) == ins.n and all(ln.strip().startswith("- ") for ln in lines)
    if ins.kind == "end_phrase":
        return low.rstrip().endswith(str(ins.phrase))
    raise ValueError(f"unknown instruction kind {ins.kind!r} (known: {', '.join(KINDS)})")


def _delete_word(text: str, word: str) -> str:
    out = re.sub(rf"\b{re.escape(word)}\b", "", text, flags=re.IGNORECASE)
    return re.sub(r"[ \t]{2,}", " ", re.sub(r" +([.,;:!?])", r"\1", out)).strip()


def _sentences(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+|\n+", text.strip())
    return [p.strip() for p in parts if p.strip()]


def _split_even(words: Sequence[str], k: int) -> list[str]:
    step = len(words) / k
    return [" ".join(words[round(i * step) : round((i + 1) * step)]) for i in range(k)]


def _as_bullets(text: str, k: int) -> str:
    return "\n".join("- " + chunk for chunk in _split_even(_words(text), k))


def _build(kind: str, response: str, rng: random.Random) -> tuple[Instruction, str, str] | None:
    """(instruction, chosen, rejected) from one real response, or None if it does not fit."""
    words = _words(response)
    if kind == "max_words":
        n = max(3, int(len(words) * rng.uniform(0.3, 0.7)))
        return Instruction(kind, f"Answer in at most {n} words.", n=n), " ".join(words[:n]), response
    if kind in ("include_word", "exclude_word"):
        cands = sorted({w for w in re.findall(r"[a-z]{4,}", response.lower()) if w not in STOPWORDS})
        if not cands:
            return None
        word = rng.choice(cands)
        edited = _delete_word(response, word)
        if kind == "include_word":
            return Instruction(kind, f'Include the word "{word}" in your answer.', word=word), response, edited
        return Instruction(kind, f'Do not mention the word "{word}".', word=word), edited, response
    if kind == "bullets":
        k = rng.randint(2, min(5, max(2, len(words) // 4)))
        wrong = k + 1 if rng.random() < 0.5 or k == 2 else k - 1
        rejected = _as_bullets(response, wrong) if rng.random() < 0.5 else " ".join(words)
        return (
            Instruction(kind, f"Answer as a list of exactly {k} bullet points.", n=k),
            _as_bullets(response, k),
            rejected,
        )
    phrase = rng.choice(PHRASES)
    ins = Instruction(kind, f'End your answer with the phrase "{phrase}"', phrase=phrase)
    rejected = f"{phrase} {response}" if rng.random() < 0.5 else response
    return ins, f"{response} {phrase}", rejected


def base_responses(
    data_dir: str | Path = "data",
    sources: Iterable[str] = ("hh-rlhf", "pandalm", "llmbar"),
    min_words: int = 8,
    max_words: int = 60,
) -> list[tuple[list[dict[str, str]], str, str]]:
    """Real (conversation, response, source) triples: the preferred side of each source pair."""
    from pipelines.ingest import RawPair, read_file

    out, seen = [], set()
    for name in sources:
        rel, fmt = SOURCES[name]
        for row in read_file(Path(data_dir) / rel, fmt):
            if not isinstance(row, RawPair) or row.is_tie or not row.conversation:
                continue
            n = len(_words(row.chosen))
            if min_words <= n <= max_words and row.chosen not in seen and row.conversation[-1]["role"] == "user":
                seen.add(row.chosen)
                out.append((row.conversation, row.chosen, name))
    return out


def make_checkable_pairs(
    n: int,
    seed: int = 0,
    data_dir: str | Path = "data",
    kinds: Sequence[str] = KINDS,
    bases: list[tuple[list[dict[str, str]], str, str]] | None = None,
) -> list[CheckablePair]:
    """``n`` verified pairs (kinds in turn, bases drawn without replacement while they last)."""
    rng = random.Random(seed)
    bases = list(bases if bases is not None else base_responses(data_dir))
    if not bases:
        raise ValueError(f"no usable real responses under {data_dir}: point data_dir at the repo's data/")
    rng.shuffle(bases)
    pairs: list[CheckablePair] = []
    for i in range(n * 3):  # some bases do not fit a kind; give up after 3n tries
        if len(pairs) >= n:
            break
        conv, response, source = bases[i % len(bases)]
        built = _build(kinds[len(pairs) % len(kinds)], response, rng)
        if built is None:
            continue
        ins, chosen, rejected = built
        if chosen == rejected or not satisfies(ins, chosen) or satisfies(ins, rejected):
            continue  # the edit did not make the pair checkable: never keep a wrong label
        turns = [dict(t) for t in conv]
        turns[-1]["content"] += _instruction_suffix(ins)
        pairs.append(CheckablePair(turns, chosen, rejected, ins, source, base={"response": response}))
    return pairs


def _instruction_suffix(ins: Instruction) -> str:
    return f"\n\n{ins.text}"


def without_instruction(pair: CheckablePair) -> list[dict[str, str]]:
    """The pair's conversation with its appended instruction cut from the last user turn."""
    turns = [dict(t) for t in pair.conversation]
    suffix = _instruction_suffix(pair.instruction)
    if not turns[-1]["content"].endswith(suffix):
        raise ValueError("the pair's last user turn does not end with its instruction")
    turns[-1]["content"] = turns[-1]["content"][: -len(suffix)]
    return turns


def flip_labels(pairs: Sequence[CheckablePair], share: float, seed: int = 0) -> tuple[list[CheckablePair], list[int]]:
    """A copy with chosen/rejected swapped on round(share * len) pairs; returns (pairs, flipped indices)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be in [0, 1], got {share}")
    flipped = sorted(random.Random(seed).sample(range(len(pairs)), round(share * len(pairs))))
    out = list(pairs)
    for i in flipped:
        p = out[i]
        out[i] = replace(p, chosen=p.rejected, rejected=p.chosen, is_flipped=not p.is_flipped)
    return out, flipped


def to_pairs_table(pairs: Iterable[CheckablePair], source: str = "synth-checkable") -> Any:
    """An Arrow table in the lake's ``pairs`` schema (category = instruction kind)."""
    from lake.records import pair_row, pairs_table

    rows = [
        pair_row(
            p.conversation,
            p.chosen,
            p.rejected,
            source=source,
            source_file=f"synth:{p.source}",
            source_row=i,
            category=p.instruction.kind,
            label_origin="synthetic",
            label_details={"instruction": p.instruction.text, "is_flipped": p.is_flipped},
        )
        for i, p in enumerate(pairs)
    ]
    return pairs_table(rows)
