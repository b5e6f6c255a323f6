"""Checkable pairs: every pair verifiably right, seeded, balanced by kind; label flips are known."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipelines.synth import KINDS, Instruction, flip_labels, make_checkable_pairs, satisfies, without_instruction

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def pairs():
    return make_checkable_pairs(100, seed=3, data_dir=DATA)


def test_each_pair_is_checkable_from_a_real_response(pairs):
    assert len(pairs) == 100 and Counter(p.instruction.kind for p in pairs) == {k: 20 for k in KINDS}
    for p in pairs:
        assert satisfies(p.instruction, p.chosen) and not satisfies(p.instruction, p.rejected)
        assert p.conversation[-1]["content"].endswith(p.instruction.text)  # the instruction closes the prompt
        assert without_instruction(p)[:-1] == p.conversation[:-1]
        assert without_instruction(p)[-1]["content"] + "\n\n" + p.instruction.text == p.conversation[-1]["content"]
        base = p.base["response"]
        assert base in (p.chosen, p.rejected) or p.instruction.kind in ("bullets", "end_phrase", "max_words")
        if p.instruction.kind == "include_word":  # the mirror images: the same edit, opposite labels
            assert p.chosen == base and p.rejected != base
        if p.instruction.kind == "exclude_word":
            assert p.rejected == base and p.chosen != base
    assert {p.source for p in pairs} <= {"hh-rlhf", "pandalm", "llmbar"}


def test_seeded(pairs):
    again = make_checkable_pairs(100, seed=3, data_dir=DATA)
    assert [(p.chosen, p.rejected) for p in again] == [(p.chosen, p.rejected) for p in pairs]
    other = make_checkable_pairs(100, seed=4, data_dir=DATA)
    assert [p.chosen for p in other] != [p.chosen for p in pairs]


def test_checks_ignore_letter_case():
    assert satisfies(Instruction("include_word", "", word="paris"), "I love PARIS.")
    assert not satisfies(Instruction("exclude_word", "", word="paris"), "Paris it is")
    assert satisfies(Instruction("end_phrase", "", phrase="hope this helps."), "Done. Hope this helps.")
    assert satisfies(Instruction("bullets", "", n=2), "- a\n- b") and not satisfies(
        Instruction("bullets", "", n=2), "a b"
    )
    with pytest.raises(ValueError, match="unknown instruction kind"):
        satisfies(Instruction("rhyme", ""), "x")


def test_flip_labels_injects_a_known_share(pairs):
    noisy, flipped = flip_labels(pairs, 0.2, seed=1)
    assert len(flipped) == 20 and flipped == sorted(flipped)
    for i, (a, b) in enumerate(zip(pairs, noisy, strict=True)):
        if i in flipped:
            assert (b.chosen, b.rejected, b.is_flipped) == (a.rejected, a.chosen, True)
            assert satisfies(b.instruction, b.rejected)  # a flipped pair's label is now wrong
        else:
            assert b is a
    with pytest.raises(ValueError, match="share must be in"):
        flip_labels(pairs, 1.5)


def test_pairs_table_for_the_lake(pairs):
    pytest.importorskip("lance")
    from lake.schemas import PAIRS
    from pipelines.synth import to_pairs_table

    table = to_pairs_table(pairs[:5])
    assert table.schema == PAIRS and table.num_rows == 5
    assert table["category"].to_pylist() == [p.instruction.kind for p in pairs[:5]]


def test_holdout_by_source_prompt_keeps_each_source_on_one_side():
    """Pairs from one source prompt with different instructions must not straddle the split."""
    from pipelines.synth.checkable import base_responses
    from rm.data import Example, split_holdout

    bases = base_responses(DATA)[:30]
    twice = make_checkable_pairs(90, seed=0, bases=bases)  # each source used about three times
    assert len({p.base["response"] for p in twice}) <= 30
    examples = [Example(p.conversation, p.chosen, p.rejected, pair_id=str(i)) for i, p in enumerate(twice)]

    def source(e: Example) -> str:
        return twice[int(e.pair_id)].base["response"]

    train, val = split_holdout(examples, 0.3, seed=0, key=source)
    assert val and train and len(train) + len(val) == len(examples)
    assert not {source(e) for e in train} & {source(e) for e in val}
    by_prompt = split_holdout(examples, 0.3, seed=0)  # default: the conversation as written
    assert not {repr(e.conversation) for e in by_prompt[0]} & {repr(e.conversation) for e in by_prompt[1]}
