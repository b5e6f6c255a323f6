"""What a round votes with: each source's latest measurement up to the round, as dbt's int_sources_trusted
reads it, so a judge trusted in round 1 and not measured since still counts in round 2, and says so."""

from __future__ import annotations

from lake import Lake
from pipelines.report.render import render_report
from pipelines.trust.measure import trust_row, write_rows
from pipelines.trust.roles import voting_rows


def _lake(root) -> Lake:
    lake = Lake(root)
    rows = [
        trust_row(1, "judge", "m|judge.v1", 95, 100, "the gate's gold"),
        trust_row(1, "rm", "round-1-silver", 80, 100, "trust half", role="silver"),
        trust_row(2, "rm", "round-2-silver", 50, 100, "trust half", role="silver"),
        trust_row(2, "annotator", "a1", 90, 100, "overlap with gold"),
        trust_row(3, "annotator", "a1", 10, 100, "overlap with gold"),  # a later round: not seen from round 2
    ]
    write_rows(lake, rows, "planted")
    return lake


def test_a_round_votes_with_each_sources_latest_row_up_to_it(tmp_path):
    rows = voting_rows(_lake(tmp_path / "lakehouse"), 2).to_pylist()
    got = {(r["source_kind"], r["source_id"], r["role"], r["round"]) for r in rows}
    # the judge from round 1; the silver RM of round 2 only (round 1's plays no role now); a1 as of round 2
    want = {("judge", "m|judge.v1", "", 1), ("rm", "round-2-silver", "silver", 2), ("annotator", "a1", "", 2)}
    assert got == want


def test_the_report_names_a_source_trusted_in_an_earlier_round():
    data = {
        "round": 2,
        "trust": [{"round": 2, "source_kind": "rm", "source_id": "round-2-silver", "role": "silver", "n": 100,
                   "accuracy": 0.5, "ci_low": 0.4, "ci_high": 0.6, "is_trusted": False}],
        "deciding": [{"source_kind": "judge", "source_id": "m|judge.v1", "role": None, "measured_in_round": 1}],
        "changes": [{"decision": "keep", "decision_rule": "judges_agree", "provenance": "judge", "n": 40}],
    }  # fmt: skip
    page = render_report(data)
    assert "Trusted sources this round: judge m|judge.v1, measured in round 1." in page
    assert "No label source was trusted" not in page
    assert "No label source was trusted this round" in render_report(data | {"deciding": []})
