"""The report's per-round benchmark curve and bias-probe table, from real ``rm_eval`` and
``source_trust`` rows of a lake (written by the evaluator's and the trust step's own writers)."""

from __future__ import annotations

import re

from pipelines.report import render_report
from pipelines.report.benchmarks import benchmark_rows
from pipelines.report.collect import collect
from pipelines.trust.measure import trust_row, write_rows
from rm.evaluate import _pair, _Tally, write_results

LONGER = "a much longer answer than the other one"


def _evaluate(lake, run_id: str, bench: str, hits: list[bool]) -> None:
    """rm_eval rows of ``run_id`` on ``bench``: pairs whose rejected side is the longer one, right where ``hits``."""
    tally = _Tally()
    for hit in hits:
        _pair(tally, "c", 1.0 if hit else 0.0, 0.5, "short", LONGER)
    write_results(lake, run_id, bench, tally.rows(), None)


def _plays(lake, round: int, run_id: str, role: str, n_correct: int, n: int = 40) -> None:
    row = trust_row(round, "rm", run_id, n_correct, n, "the trust half of gold", role=role)
    write_rows(lake, [row], f"trust round {round}: {role}")


def _three_rounds(lake) -> None:
    """Two Stage-1 rounds (silver) and a Stage-2 round whose best RM is round 1's silver RM."""
    _plays(lake, 1, "round-1-silver", "silver", 22)
    _evaluate(lake, "round-1-silver", "LLMBar", [True, True, True, False])
    _evaluate(lake, "round-1-silver", "EvalBiasBench", [True, False])
    _plays(lake, 2, "round-2-silver", "silver", 20)
    _evaluate(lake, "round-2-silver", "LLMBar", [False, False, True, False])
    _evaluate(lake, "round-2-silver", "LLMBar", [True, True, False, False])  # a later evaluation: it counts
    _evaluate(lake, "round-2-silver", "EvalBiasBench", [False, False])
    _evaluate(lake, "round-2-silver", "gold", [True])  # `prefhouse eval --gold`: not a benchmark
    _plays(lake, 3, "round-3-gold", "gold", 30)
    _plays(lake, 3, "round-1-silver", "best", 23)  # evaluated once, in round 1
    _evaluate(lake, "round-3-gold", "LLMBar", [True, True, True, True])
    _evaluate(lake, "round-3-gold", "EvalBiasBench", [True, True])


def test_rows_per_round_and_role_join_rm_eval_to_the_role_each_run_played(lake):
    _three_rounds(lake)
    rows = {(r["round"], r["role"], r["bench"]): r for r in benchmark_rows(lake, 3)}
    assert set(rows) == {
        (rnd, role, bench)
        for rnd, role in ((1, "silver"), (2, "silver"), (3, "gold"), (3, "best"))
        for bench in ("LLMBar", "EvalBiasBench")
    }
    assert rows[(1, "silver", "LLMBar")] == {
        "round": 1, "role": "silver", "run_id": "round-1-silver", "bench": "LLMBar", "n": 4, "accuracy": 0.75,
        "length_bias_accuracy": 0.75, "longer_wins_agreement": 0.25,
    }  # fmt: skip
    assert rows[(2, "silver", "LLMBar")]["accuracy"] == 0.5  # the latest evaluation of the run on the bench
    best = rows[(3, "best", "LLMBar")]
    assert best["run_id"] == "round-1-silver" and best["accuracy"] == 0.75  # round 1's rows, not re-scored
    assert rows[(3, "gold", "EvalBiasBench")]["accuracy"] == 1.0
    assert {r["round"] for r in benchmark_rows(lake, 1)} == {1}


def _benchmark_section(page: str) -> str:
    start = page.index("<h2>RM benchmark accuracy per round")
    return page[start : page.index("</section>", start)]


def test_report_shows_the_curve_and_the_probes_with_one_round_and_many(lake):
    _three_rounds(lake)
    page = render_report(collect(lake, 3, 2))
    assert page.count("<svg") == 7
    section = _benchmark_section(page)
    assert "no benchmark evaluations" not in section
    for text in ("silver RM accuracy", "best RM accuracy", "gold RM accuracy", "LLMBar", "EvalBiasBench",
                 "gold, out of sample (95% CI)"):  # fmt: skip
        assert text in section, text
    cells = re.findall(r"<tr>(.*?)</tr>", section)
    row = next(c for c in cells if "<td>1</td><td>silver</td>" in c and "LLMBar" in c)
    assert "<td>4</td><td>0.750</td><td>0.750</td><td>0.250</td>" in row  # n, accuracy and the two bias probes
    assert sum("<td>3</td><td>best</td><td>round-1-silver</td>" in c for c in cells) == 2

    one = _benchmark_section(render_report(collect(lake, 1, 1)))
    assert "silver RM accuracy" in one and "gold RM accuracy" not in one and "best RM accuracy" not in one
    assert len(re.findall(r"<tr>", one)) == 1 + 2  # the header and LLMBar, EvalBiasBench of round 1


def test_a_round_without_benchmark_rows_says_so(lake):
    _plays(lake, 1, "round-1-silver", "silver", 22)
    section = _benchmark_section(render_report(collect(lake, 1, 1)))
    assert "no benchmark evaluations in this round yet" in section and "<p>none</p>" in section
