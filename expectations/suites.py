"""Great Expectations suites, built in code: one per lake table or mart that matters.

Each suite is a list of :class:`Check`: a GX expectation plus whether it is a schema
check (run even on an empty table) or a data check (skipped when there are no rows).
Data contracts split by kind (house style 11): dbt tests cover keys, nulls and enums
inside SQL; these suites cover what dbt does not: distributions, length ranges,
duplicate rates, label balance and the kept fraction against the previous round.
The frames they validate are built by :mod:`expectations.frames` (derived columns such
as ``chosen_chars`` are computed there, in DuckDB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Thresholds live here, in one place, so a reviewer sees every tolerance of the gate.
MAX_RESPONSE_CHARS = 200_000
MAX_DUPLICATE_PROMPT_SHARE = 0.5  # share of pairs that may share a pairset with another (conflicts/flips)
MAX_INVALID_VOTE_SHARE = 0.2
MAX_DISCARD_SHARE = 0.5
ORDER_BALANCE = (0.25, 0.75)  # share of items shown with the stored chosen first
LENGTH_BIAS_BOUNDS = (0.05, 0.95)  # share of kept pairs whose chosen side is the longer one
KEPT_FRACTION_TOLERANCE = 0.25  # absolute change allowed in the kept fraction vs the previous round
LONGER_SHARE_SHIFT = 0.05  # how far the kept set's chosen-is-longer share may move from the raw pool's
LABEL_PROVENANCE = ["original", "human", "llm-judge", "rm"]
DECISIONS = ["keep", "drop", "flip"]


@dataclass(frozen=True)
class Check:
    """One expectation of a suite; ``schema`` checks run even when the table is empty."""

    expectation: Any
    schema: bool = False


@dataclass
class SuiteSpec:
    """A table's suite: the frame it validates, the columns that identify a failing row."""

    name: str
    checks: list[Check]
    id_columns: list[str] = field(default_factory=lambda: ["pair_id"])


def _gxe() -> Any:
    import great_expectations.expectations as gxe  # heavy: import on use

    return gxe


def _columns(names: list[str]) -> Check:
    return Check(_gxe().ExpectTableColumnsToMatchSet(column_set=names, exact_match=False), schema=True)


def _not_null(*columns: str, mostly: float = 1.0) -> list[Check]:
    return [Check(_gxe().ExpectColumnValuesToNotBeNull(column=c, mostly=mostly)) for c in columns]


def pairs_suite() -> SuiteSpec:
    g = _gxe()
    return SuiteSpec(
        "pairs",
        [
            _columns(["pair_id", "prompt_id", "pairset_id", "chosen_chars", "rejected_chars", "n_turns", "source"]),
            *_not_null("pair_id", "prompt_id", "pairset_id", "source"),
            Check(g.ExpectColumnValuesToBeUnique(column="pair_id")),
            Check(g.ExpectColumnValuesToBeBetween(column="chosen_chars", min_value=1, max_value=MAX_RESPONSE_CHARS)),
            Check(g.ExpectColumnValuesToBeBetween(column="rejected_chars", min_value=1, max_value=MAX_RESPONSE_CHARS)),
            Check(g.ExpectColumnValuesToBeBetween(column="n_turns", min_value=1, max_value=200)),
            Check(g.ExpectColumnValuesToBeInSet(column="is_identical", value_set=[False])),
            Check(
                g.ExpectColumnValuesToBeInSet(
                    column="label_origin", value_set=["human", "model", "unknown", "synthetic"], mostly=0.99
                )
            ),
            Check(
                g.ExpectColumnProportionOfUniqueValuesToBeBetween(
                    column="pairset_id", min_value=1 - MAX_DUPLICATE_PROMPT_SHARE, max_value=1.0
                )
            ),
        ],
    )


def attributes_suite(taxonomy: list[str] | None = None) -> SuiteSpec:
    g = _gxe()
    checks = [
        _columns(["pair_id", "status", "task_category", "objectivity", "controversiality", "model"]),
        *_not_null("pair_id", "status", "model"),
        Check(g.ExpectColumnValuesToBeInSet(column="status", value_set=["ok", "failed"])),
        # Failed annotations are kept as data, but a run where most fail is broken.
        Check(g.ExpectColumnValuesToBeInSet(column="status", value_set=["ok"], mostly=0.8)),
        Check(
            g.ExpectColumnValuesToBeInSet(
                column="objectivity",
                value_set=["objective", "subjective"],
                row_condition='status=="ok"',
                condition_parser="pandas",
            )
        ),
        Check(
            g.ExpectColumnValuesToBeInSet(
                column="controversiality",
                value_set=["low", "medium", "high"],
                row_condition='status=="ok"',
                condition_parser="pandas",
            )
        ),
    ]
    if taxonomy:
        checks.append(
            Check(
                g.ExpectColumnValuesToBeInSet(
                    column="task_category",
                    value_set=list(taxonomy),
                    row_condition='status=="ok"',
                    condition_parser="pandas",
                )
            )
        )
    return SuiteSpec("attributes", checks)


def human_labels_suite() -> SuiteSpec:
    g = _gxe()
    return SuiteSpec(
        "human_labels",
        [
            _columns(["label_id", "pair_id", "round", "annotator", "verdict", "origin"]),
            *_not_null("label_id", "pair_id", "annotator", "verdict"),
            Check(g.ExpectColumnValuesToBeUnique(column="label_id")),
            Check(g.ExpectColumnValuesToBeInSet(column="verdict", value_set=["chosen", "rejected", "discard"])),
            Check(
                g.ExpectColumnValuesToBeInSet(
                    column="verdict", value_set=["chosen", "rejected"], mostly=1 - MAX_DISCARD_SHARE
                )
            ),
            Check(g.ExpectCompoundColumnsToBeUnique(column_list=["pair_id", "annotator", "round"])),
            # Label balance of what annotators saw: the app must randomise the order.
            Check(
                g.ExpectColumnMeanToBeBetween(
                    column="shown_first", min_value=ORDER_BALANCE[0], max_value=ORDER_BALANCE[1]
                )
            ),
        ],
        id_columns=["pair_id", "label_id"],
    )


def judge_labels_suite() -> SuiteSpec:
    g = _gxe()
    return SuiteSpec(
        "judge_labels",
        [
            _columns(["pair_id", "round", "model", "sample", "vote", "is_chosen_shown_first", "n_demonstrations"]),
            *_not_null("pair_id", "model", "vote"),
            Check(g.ExpectColumnValuesToBeInSet(column="vote", value_set=["chosen", "rejected", "invalid"])),
            Check(
                g.ExpectColumnValuesToBeInSet(
                    column="vote", value_set=["chosen", "rejected"], mostly=1 - MAX_INVALID_VOTE_SHARE
                )
            ),
            Check(g.ExpectColumnValuesToBeBetween(column="n_demonstrations", min_value=0, max_value=8)),
            Check(
                g.ExpectCompoundColumnsToBeUnique(
                    column_list=["pair_id", "round", "model", "template_version", "sample"]
                )
            ),
            Check(
                g.ExpectColumnMeanToBeBetween(
                    column="shown_first", min_value=ORDER_BALANCE[0], max_value=ORDER_BALANCE[1]
                )
            ),
        ],
    )


def rm_scores_suite() -> SuiteSpec:
    g = _gxe()
    return SuiteSpec(
        "rm_scores",
        [
            _columns(["run_id", "pair_id", "reward_chosen", "reward_rejected", "margin", "p"]),
            *_not_null("run_id", "pair_id", "margin", "p"),
            Check(g.ExpectColumnValuesToBeBetween(column="p", min_value=0.0, max_value=1.0)),
            Check(g.ExpectColumnValuesToBeInSet(column="is_finite", value_set=[True])),
            # margin is r(chosen) - r(rejected): a writer that mixes them up fails here.
            Check(g.ExpectColumnValuesToBeBetween(column="margin_error", min_value=0.0, max_value=1e-3)),
            Check(g.ExpectCompoundColumnsToBeUnique(column_list=["run_id", "pair_id"])),
        ],
        id_columns=["pair_id", "run_id"],
    )


def curated_suite(
    name: str = "curated", raw_longer_share: float | None = None, shift: float = LONGER_SHARE_SHIFT
) -> SuiteSpec:
    """The published kept (or flipped) set of one round: schema, nulls, provenance, no filtered pair,
    and (kept set, given the raw pool's share) no drift towards "the longer response wins"."""
    g = _gxe()
    longer = []
    if raw_longer_share is not None:
        lo, hi = max(0.0, raw_longer_share - shift), min(1.0, raw_longer_share + shift)
        longer = [Check(g.ExpectColumnMeanToBeBetween(column="chosen_is_longer", min_value=lo, max_value=hi))]
    return SuiteSpec(
        name,
        [
            _columns(["round", "pair_id", "chosen_chars", "rejected_chars", "label_provenance", "source"]),
            *_not_null("pair_id", "source", "label_provenance", "chosen_chars", "rejected_chars"),
            Check(g.ExpectColumnValuesToBeInSet(column="has_filter_reason", value_set=[False])),
            Check(g.ExpectCompoundColumnsToBeUnique(column_list=["round", "pair_id"])),
            Check(g.ExpectColumnValuesToBeBetween(column="chosen_chars", min_value=1, max_value=MAX_RESPONSE_CHARS)),
            Check(g.ExpectColumnValuesToBeBetween(column="rejected_chars", min_value=1, max_value=MAX_RESPONSE_CHARS)),
            Check(g.ExpectColumnValuesToBeInSet(column="is_identical", value_set=[False])),
            Check(g.ExpectColumnValuesToBeInSet(column="label_provenance", value_set=LABEL_PROVENANCE)),
            Check(
                g.ExpectColumnMeanToBeBetween(
                    column="chosen_is_longer", min_value=LENGTH_BIAS_BOUNDS[0], max_value=LENGTH_BIAS_BOUNDS[1]
                )
            ),
            *longer,
        ],
    )


def curated_pairs_suite(
    previous_kept_fraction: float | None = None, tolerance: float = KEPT_FRACTION_TOLERANCE
) -> SuiteSpec:
    """The ``curated_pairs`` mart of one round: decisions, and the kept fraction vs the last round."""
    g = _gxe()
    checks = [
        _columns(["round", "pair_id", "decision", "is_kept"]),
        *_not_null("pair_id", "decision"),
        Check(g.ExpectColumnValuesToBeInSet(column="decision", value_set=DECISIONS)),
        Check(g.ExpectCompoundColumnsToBeUnique(column_list=["round", "pair_id"])),
        # A round that keeps (almost) nothing is broken, whatever happened before it.
        Check(g.ExpectColumnMeanToBeBetween(column="is_kept", min_value=0.01, max_value=1.0)),
    ]
    if previous_kept_fraction is not None:
        lo = max(0.0, previous_kept_fraction - tolerance)
        hi = min(1.0, previous_kept_fraction + tolerance)
        checks.append(Check(g.ExpectColumnMeanToBeBetween(column="is_kept", min_value=lo, max_value=hi)))
    return SuiteSpec("curated_pairs", checks)


def all_suites(
    previous_kept_fraction: float | None = None,
    taxonomy: list[str] | None = None,
    kept_tolerance: float = KEPT_FRACTION_TOLERANCE,
    raw_longer_share: float | None = None,
) -> dict[str, SuiteSpec]:
    """Every suite by the name of the frame it validates."""
    suites = [
        pairs_suite(),
        attributes_suite(taxonomy),
        human_labels_suite(),
        judge_labels_suite(),
        rm_scores_suite(),
        curated_suite("curated", raw_longer_share),
        curated_suite("flipped"),
        curated_pairs_suite(previous_kept_fraction, kept_tolerance),
    ]
    return {s.name: s for s in suites}
