"""The gate checks the very sets a round would publish: a kept set that drifts towards "the longer
response wins" blocks the publish, and the previous round's tag stays where it was."""

from __future__ import annotations

import pytest

from lake.records import pair_row, pairs_table
from pipelines.labelapp import append_labels, label_row
from pipelines.rounds import latest_by_step
from pipelines.rounds.config import RoundConfig
from pipelines.rounds.plan import run_configured_round

pytestmark = pytest.mark.slow


def test_a_kept_set_biased_to_longer_chosen_is_not_published(lake, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    longer = [pair_row(f"long {i}?", f"a complete and long answer number {i}", f"no {i}", source_row=i)
              for i in range(20)]  # fmt: skip
    shorter = [pair_row(f"short {i}?", f"ok {i}", f"a rambling and long reply number {i}", source_row=20 + i)
               for i in range(20)]  # fmt: skip
    lake.append("pairs", pairs_table(longer + shorter))
    # the templated prompts ("long 1?", "long 2?") are near-duplicates: the near-dup step would drop them
    quiet = lambda _m: None  # noqa: E731
    first = run_configured_round(lake, RoundConfig(round=1, scope="no-rm", neardup=False), log=quiet)
    assert first.status == "done", first.message
    tagged = lake.tags("curated")["round-1"]["version"]
    assert lake.dataset("curated", "round-1").count_rows() == 40

    # Annotators vouch for ten longer-chosen pairs and throw out six shorter-chosen ones: the kept set's
    # chosen-is-longer share moves from the pool's 0.50 to 20/34 = 0.59, past the 0.05 bound.
    append_labels(lake, [label_row(p["pair_id"], "ann", "chosen", round=2, is_chosen_shown_first=i % 2 == 0)
                         for i, p in enumerate(longer[:10])]
                  + [label_row(p["pair_id"], "ann", "discard", round=2, is_chosen_shown_first=i % 2 == 0)
                     for i, p in enumerate(shorter[:6])])  # fmt: skip
    blocked = run_configured_round(lake, RoundConfig(round=2, scope="no-rm", neardup=False), log=quiet)
    assert blocked.status == "blocked"
    assert "curated: expect_column_mean_to_be_between(column=chosen_is_longer" in blocked.message
    assert latest_by_step(lake, 2, 1)["gate"]["status"] == "failed" and "publish" not in latest_by_step(lake, 2, 1)
    assert "round-2" not in lake.tags("curated")
    assert lake.tags("curated")["round-1"]["version"] == tagged
