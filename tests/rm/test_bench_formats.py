"""What eval scores of a benchmark file: LLMBar from the repo's data, the other layouts from tests/bench_layouts.

Detection and parsing of every layout are tested in tests/ingest/test_registry.py; here, the
eval view of them (:func:`read_bench`): ties left out, bad rows skipped and counted, categories.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from pipelines.ingest.registry import read_bench

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
LAYOUT_FILES = REPO / "tests" / "bench_layouts"


def test_llmbar_from_the_sample_data():
    items = list(read_bench(DATA / "llmbar" / "LLMBar"))
    counts = Counter(i.category for i in items)
    assert counts == {"Natural": 100, "Neighbor": 134, "GPTInst": 92, "GPTOut": 47, "Manual": 46}
    first = next(read_bench(DATA / "llmbar" / "LLMBar" / "Natural" / "dataset.json"))
    assert first.kind == "pair" and first.conversation[0]["content"].startswith("Summarize the following content.")


def test_evalbiasbench_from_the_sample_data():
    items = list(read_bench(DATA / "evalbiasbench" / "biasbench.json"))
    data = json.loads((DATA / "evalbiasbench" / "biasbench.json").read_text())
    assert Counter(i.category for i in items) == {bias: len(rows) for bias, rows in data.items()}
    assert all(i.kind == "pair" for i in items)


def test_a_folder_of_every_layout_reads_as_items_eval_can_judge():
    items = list(read_bench(LAYOUT_FILES))
    kinds = Counter(i.layout for i in items)
    assert kinds["ppe-preference"] == 2  # its tie is a benchmark prompt, but not scored
    assert {i.kind for i in items} == {"pair", "rmbench", "bon"}
    assert {i.layout: i.category for i in items if i.layout in ("flat", "trl", "hh-rlhf")} == {
        "flat": "bench_layouts", "trl": "bench_layouts", "hh-rlhf": "bench_layouts",
    }  # fmt: skip  # no category of their own: the folder's name


def test_rows_that_do_not_parse_are_skipped_and_counted(tmp_path):
    rows = [{"id": 1, "prompt": "2+2?", "domain": "math", "chosen": ["4", "It is 4.", "**4**"],
             "rejected": ["5", "It is 5.", "**5**"]},
            {"id": 2, "prompt": "2+3?", "domain": "math", "chosen": ["5", "5."],
             "rejected": ["6", "6.", "**6**"]}]  # fmt: skip
    path = tmp_path / "total_dataset.json"
    path.write_text(json.dumps(rows))
    skipped: list = []
    (item,) = read_bench(path, rejected=skipped)
    assert (item.kind, item.category, item.item_id, len(item.responses)) == ("rmbench", "math", "1", 6)
    assert [(r.source_row, r.reason) for r in skipped] == [(1, "unparseable")]
    assert "3 chosen and 3 rejected" in skipped[0].detail


def test_limit_counts_items_per_file():
    assert len(list(read_bench(DATA / "llmbar" / "LLMBar", limit=3))) == 15  # 5 files
