"""The round report renders offline in headless Chromium with every plot present."""

from __future__ import annotations

import random
import re

import pytest

from pipelines.report import render_report, write_report
from pipelines.report.plots import log_ratio


def _data() -> dict:
    rng = random.Random(0)
    return {
        "round": 2,
        "stage": 1,
        "generated_at": "2026-01-01T00:00:00Z",
        "funnel": [
            {"reason": "in", "n": 1000},
            {"reason": "exact_duplicate", "n": 31},
            {"reason": "conflict", "n": 12},
            {"reason": "contaminated", "n": 4},
            {"reason": "kept", "n": 953},
        ],
        "rm_accuracy": [
            {"round": 1, "accuracy": 0.58, "ci_low": 0.50, "ci_high": 0.66, "role": "silver"},
            {"round": 2, "accuracy": 0.64, "ci_low": 0.57, "ci_high": 0.71, "role": "silver"},
        ],
        "benchmarks": [
            {
                "round": r,
                "role": "silver",
                "run_id": f"round-{r}-silver",
                "bench": b,
                "n": 100,
                "accuracy": a,
                "length_bias_accuracy": a - 0.1,
                "longer_wins_agreement": 0.55,
            }
            for r, b, a in ((1, "LLMBar", 0.52), (2, "LLMBar", 0.57), (1, "biasbench", 0.45), (2, "biasbench", 0.5))
        ],
        "trust": [
            {
                "round": 2,
                "source_kind": "rm",
                "source_id": "round-2-silver",
                "role": "silver",
                "n": 150,
                "accuracy": 0.64,
                "ci_low": 0.56,
                "ci_high": 0.71,
                "label_basis": "unverified original labels",
                "is_trusted": False,
            },
            {
                "round": 2,
                "source_kind": "annotator",
                "source_id": "pandalm:annotator1",
                "role": "",
                "n": 800,
                "accuracy": 0.91,
                "ci_low": 0.89,
                "ci_high": 0.93,
                "is_trusted": True,
            },
        ],
        "trust_rule": "lower 95% bound of gold accuracy >= 0.6 on >= 30 gold pairs",
        "changes": [
            {"decision": "keep", "decision_rule": "uncontradicted", "provenance": "original", "n": 900},
            {"decision": "keep", "decision_rule": "human_agree", "provenance": "human", "n": 53},
            {"decision": "drop", "decision_rule": "filter", "provenance": "-", "n": 47},
        ],
        "margins": {"kept": [rng.gauss(1, 1) for _ in range(200)], "dropped": [rng.gauss(-1, 1) for _ in range(50)]},
        "agreement": [
            {"category": "coding", "agreement": 0.8, "n": 20},
            {"category": "chit-chat", "agreement": 0.55, "n": 9},
        ],
        "length": {"curated": [log_ratio(rng.randint(1, 900), 300) for _ in range(100)], "raw": [0.3, -0.2, 1.0]},
        "diff": {"entered": {"human_gold": 5}, "left": {"conflict": 3}},
        "gate": {
            "passed": False,
            "failures": [
                {
                    "table": "rm_scores",
                    "expectation": "expect_column_values_to_be_between",
                    "unexpected_count": 1,
                    "observed": None,
                    "sample_ids": ["abc"],
                }
            ],
        },
        "steps": [{"stage": 1, "step": "gate", "status": "failed", "counts": "{}", "message": "blocked"}],
        "links": {"gx_html": "/tmp/lake/_quality/round-2/index.html", "dbt_docs": None},
        "snapshot": {"table": "curated", "tag": "round-2", "rows": 953},
    }


def test_report_is_self_contained():
    page = render_report(_data())
    assert page.count("<svg") == 7
    # XML namespaces are names, not requests; nothing may be loaded from anywhere.
    assert "<script" not in page and "<link" not in page and not re.findall(r'(?:src|href)="https?:', page)
    assert "expect_column_values_to_be_between" in page and "round-2" in page


def test_report_opens_with_the_changes_and_the_trust_table():
    page = render_report(_data())
    changed, trust = page.index("What this round changed"), page.index("Trust of every label source")
    assert changed < trust < page.index("Funnel by reason")
    assert "<b>953</b> kept, <b>47</b> dropped, <b>0</b> flipped" in page
    assert "Trusted sources this round: annotator pandalm:annotator1" in page
    assert "unverified original labels" in page and "human_agree" in page
    nobody = _data() | {"trust": [t | {"is_trusted": False} for t in _data()["trust"]]}
    assert "No label source was trusted this round" in render_report(nobody)


def test_many_categories_show_the_largest_and_group_the_rest():
    from pipelines.report.plots import top_categories

    rows = [{"category": f"app{i:02d}", "agreement": 0.5, "n": 100 - i} for i in range(50)]
    shown = top_categories(rows)
    assert [r["category"] for r in shown[:2]] == ["app00", "app01"] and len(shown) == 13
    assert shown[-1]["category"] == "other (38 categories)" and shown[-1]["n"] == sum(100 - i for i in range(12, 50))


def test_empty_round_still_renders_every_plot():
    page = render_report({"round": 1})
    assert page.count("<svg") == 7 and page.count("in this round yet") == 7


@pytest.mark.browser
def test_report_renders_in_headless_chromium(browser, tmp_path):
    path = write_report(_data(), tmp_path / "report.html")
    requests: list[str] = []
    page = browser.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    headings = page.locator("h2").all_inner_texts()
    n_svg = page.locator("figure > svg").count()
    boxes = [page.locator("figure > svg").nth(i).bounding_box() for i in range(n_svg)]
    n_bars = page.locator("figure svg path").count()
    page.close()
    assert requests == [path.as_uri()]  # nothing but the file itself: no CDN, no fonts, no scripts
    assert n_svg == 7 and all(b and b["width"] > 200 and b["height"] > 100 for b in boxes)
    for title in (
        "Funnel by reason",
        "RM gold accuracy per round (out of sample, 95% intervals)",
        "RM benchmark accuracy per round, beside out-of-sample gold accuracy",
        "What this round changed",
        "Trust of every label source",
        "Margins of kept vs dropped pairs",
        "Agreement per task category",
        "Length bias: curated vs raw pool",
        "Round diff",
    ):
        assert title in headings
    assert n_bars > 50  # bars and histogram patches were drawn, not empty frames
