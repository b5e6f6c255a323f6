"""One round's trust measurement: every label source on gold, then who may vote.

Reward models are measured on the ``measure`` half of gold (they select checkpoints, and the
best RM is picked, on the other half); the gold RM's row comes from its cross-fitting (written
by the round's gold-RM step); judges' rows come from their gate; annotators and pre-check
models are measured here. The result is ``source_trust`` rows for the round and the
``annotator_agreement`` rows, both read by dbt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow.compute as pc

from lake import Lake
from lake.labels import gold_verdicts
from lake.rules import TrustRule
from pipelines.trust import agreement, measure, roles, splits


@dataclass
class TrustReport:
    """What the round's trust step found."""

    round: int
    n_sources: int = 0
    n_trusted: int = 0
    trusted: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # one per source, in words
    n_agreement_rows: int = 0

    @property
    def counts(self) -> dict[str, int]:
        return {"sources": self.n_sources, "trusted": self.n_trusted, "agreement_rows": self.n_agreement_rows}

    def message(self) -> str:
        if not self.n_sources:
            return "no label source could be measured on gold: no source may keep, drop or flip a pair"
        head = f"{self.n_trusted} of {self.n_sources} sources trusted"
        if not self.n_trusted:
            head = f"no trusted source among {self.n_sources}: nothing is kept, dropped or flipped on their word"
        return head + "; " + " | ".join(self.lines)


def label_basis(lake: Lake, run_id: str) -> str | None:
    t = lake.dataset("rm_runs").to_table(columns=["run_id", "label_basis"], filter=pc.field("run_id") == run_id)
    return t["label_basis"][0].as_py() if t.num_rows else None


def measure_round(
    lake: Lake,
    round: int,
    rms: dict[str, str] | None = None,
    rule: TrustRule | None = None,
    agreement_resamples: int = 500,
) -> TrustReport:
    """Measure the round's RMs (``{role: run_id}``, scored on gold already), annotators and pre-checks."""
    rule = rule or TrustRule.default()
    gold = gold_verdicts(lake, round)
    held = splits.measure_split(gold)
    rows: list[dict[str, Any]] = measure.annotator_rows(lake, round) + measure.precheck_rows(lake, round)
    for role, run_id in (rms or {}).items():
        rows.append(measure.measure_rm(lake, round, run_id, role, held, "the trust half of gold (never selected on)",
                                       label_basis(lake, run_id)))  # fmt: skip
    measure.write_rows(lake, rows, f"trust round {round}: {len(rows)} sources measured")
    ag = agreement.agreement_rows(lake, round, agreement_resamples, top=None)
    agreement.write_agreement(lake, round, ag)
    report = TrustReport(round=round, n_agreement_rows=len(ag))
    for r in roles.with_trust(roles.voting_rows(lake, round), rule):  # what dbt votes with
        report.n_sources += 1
        report.lines.append(roles.why(r, rule) + ("" if r["round"] == round else f" (measured in round {r['round']})"))
        if r["is_trusted"]:
            report.n_trusted += 1
            report.trusted.append(f"{r['source_kind']}:{r['source_id']}")
    return report
