"""Checkable pairs: every pair verifiably right, seeded, balanced by kind; label flips are known."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipelines.synth import KINDS, Instruction, flip_labels, make_checkable_pairs, satisfies

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="module")
def pairs():
    return make_checkable_pairs(100, seed=3, data_dir=DATA)


def test_each_pair_is_checkable_from_a_real_response(pairs):
    assert len(pairs) == 100 and Counter(p.instruction.kind for p in pairs) == {k: 20 for k in KINDS}
    for p in pairs:
        assert satisfies(p.instruction, p.chosen) and not satisfies(p.instruction, p.rejected)
        assert p.conversation[-1]["content"].endswith(p.instruction.text)  # the instruction closes the prompt
        base = p.base["response"]
        assert base in (p.chosen, p.rejected) or p.instruction.kind in ("bullets", "end_phrase", "max_words")
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
