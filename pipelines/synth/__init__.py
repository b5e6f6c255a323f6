"""Synthetic preference pairs whose true preference is checkable by construction."""

from pipelines.synth.checkable import (
    KINDS,
    CheckablePair,
    Instruction,
    base_responses,
    flip_labels,
    make_checkable_pairs,
    satisfies,
    to_pairs_table,
    without_instruction,
)

__all__ = [
    "KINDS",
    "CheckablePair",
    "Instruction",
    "base_responses",
    "flip_labels",
    "make_checkable_pairs",
    "satisfies",
    "to_pairs_table",
    "without_instruction",
]
