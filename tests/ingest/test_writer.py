"""ingest_paths: counts, idempotency, cross-format identity, benchmarks, crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable

import pytest

from lake import Lake, ids
from lake.ids import conversation_key, ids_for
from lake.records import pair_row
from pipelines.ingest import ingest_paths, read_file
from pipelines.ingest.fast import FlatBlock
from tests.conftest import DATA, REPO
from tests.ingest.helpers import hh, write_jsonl


def test_fast_ids_equal_lake_ids():
    conv = [{"role": "user", "content": 'héllo "q" \\ \u0001 \u2028 😀'}, {"role": "assistant", "content": "a"},
            {"role": "user", "content": "</script>\t"}]  # fmt: skip
    for chosen, rejected in [("x\ny", "Z"), ("Z", "x\ny"), ("ü", "u")]:
        assert ids_for(conversation_key(conv), chosen, rejected) == (
            ids.pair_id(conv, chosen, rejected), ids.prompt_id(conv), ids.pairset_id(conv, chosen, rejected),
        )  # fmt: skip


def test_counts_reconcile_and_reingest_adds_nothing(lake):
    paths = [DATA / "pandalm/testset-v1.json", DATA / "llmbar/LLMBar/Natural/dataset.json"]
    first = ingest_paths(lake, paths)
    assert first.n_read == first.n_accepted + first.n_duplicate + first.n_quarantined == 1099
    versions = {t: lake.version(t) for t in ("pairs", "pair_sources", "quarantine")}
    counts = {t: lake.dataset(t).count_rows() for t in versions}
    assert counts["pairs"] == first.n_accepted
    assert counts["pair_sources"] == first.n_accepted + first.n_duplicate  # every sighting
    again = ingest_paths(lake, paths)
    assert (again.n_read, again.n_accepted, again.n_duplicate, again.n_quarantined) == (
        1099, 0, first.n_accepted + first.n_duplicate, first.n_quarantined,
    )  # fmt: skip
    assert {t: lake.version(t) for t in versions} == versions  # no new version of the data tables
    assert {t: lake.dataset(t).count_rows() for t in versions} == counts
    assert lake.dataset("ingest_batches").count_rows() == 2  # the attempt is logged


def test_same_pair_in_three_formats_has_one_id_and_three_sightings(lake, tmp_path):
    flat = write_jsonl(
        tmp_path / "flat.jsonl", [{"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Rome."}]
    )
    trl = write_jsonl(tmp_path / "trl.jsonl", [{
        "prompt": [{"role": "user", "content": "Capital of France? "}],
        "chosen": [{"role": "assistant", "content": "Paris."}],
        "rejected": [{"role": "assistant", "content": "Rome."}],
    }])  # fmt: skip
    dialogue = write_jsonl(tmp_path / "hh.jsonl.gz", [hh("Capital of France?", "Paris.", "Rome.")], gz=True)
    reports = [ingest_paths(lake, [p], source=f"s{i}") for i, p in enumerate([flat, trl, dialogue])]
    assert [(r.n_accepted, r.n_duplicate) for r in reports] == [(1, 0), (0, 1), (0, 1)]
    pairs = lake.dataset("pairs").to_table().to_pylist()
    expected = pair_row("Capital of France?", "Paris.", "Rome.")["pair_id"]
    assert [p["pair_id"] for p in pairs] == [expected]
    sightings = lake.dataset("pair_sources").to_table().to_pylist()
    assert sorted(s["source"] for s in sightings) == ["s0", "s1", "s2"]
    assert [s["is_first_sighting"] for s in sorted(sightings, key=lambda s: s["source"])] == [True, False, False]


def test_tie_in_either_order_is_one_pair(lake, tmp_path):
    rows = [{"prompt": "p", "response 1": "A", "response 2": "B", "label": 2},
            {"prompt": "p", "response 1": "B", "response 2": "A", "label": 2}]  # fmt: skip
    report = ingest_paths(lake, [write_jsonl(tmp_path / "autoj.jsonl", rows)])
    assert (report.n_accepted, report.n_duplicate) == (1, 1)
    (pair,) = lake.dataset("pairs").to_table().to_pylist()
    assert pair["pair_id"] == pair_row("p", "B", "A", is_tie=True)["pair_id"] and pair["is_tie"]


def test_as_benchmark_writes_first_turn_prompts(lake):
    path = DATA / "llmbar/LLMBar/Natural/dataset.json"
    report = ingest_paths(lake, [path], source="llmbar-natural", as_benchmark=True)
    assert report.n_accepted == 100 and not lake.exists("pairs")
    rows = lake.dataset("benchmark_prompts").to_table().to_pylist()
    first = json.loads(path.read_text())[0]["input"].strip()
    assert rows[0]["prompt"] == first and rows[0]["benchmark"] == "llmbar-natural"
    assert ingest_paths(lake, [path], source="llmbar-natural", as_benchmark=True).n_accepted == 0
    unnamed = ingest_paths(lake, [path], as_benchmark=True)  # the benchmark is named after the file
    assert unnamed.n_accepted == 100 and ingest_paths(lake, [path], as_benchmark=True).n_accepted == 0
    assert lake.dataset("benchmark_prompts").count_rows() == 200


def test_jsonl_blocks_fall_back_line_by_line_and_keep_positions(tmp_path, monkeypatch):
    import pipelines.ingest.sources as sources

    rows = [{"prompt": f"p{i}", "chosen": "a", "rejected": "b"} for i in range(50)]
    rows[17] = "{not json"
    rows[30] = {"prompt": 5, "chosen": "a", "rejected": "b"}  # mixed types in a block
    path = write_jsonl(tmp_path / "x.jsonl.gz", rows, gz=True)
    items = list(sources.iter_jsonl(path, block_bytes=256))
    assert [i for i, _ in items] == list(range(50))
    assert items[17][1].reason == "unparseable" and items[5][1]["prompt"] == "p5"
    pairs = list(read_file(path))
    assert pairs[30].reason == "unparseable" and "int" in pairs[30].detail


def _explode_after(monkeypatch, writer, path_kind: str, exc: Callable[[], None]) -> None:
    """Make the reader of ``path_kind`` (row or fast) call ``exc`` after several pairs batches went to Lance
    and several spools of sightings to staged data files."""
    monkeypatch.setattr(writer, "SPOOL_ROWS", 1000)
    if path_kind == "row":
        real = writer.read_file

        def exploding(*args, **kwargs):
            for n, item in enumerate(real(*args, **kwargs)):
                if n == 25_000:
                    exc()
                yield item

        monkeypatch.setattr(writer, "read_file", exploding)
    else:
        real_fast = writer.read_flat_fast

        def exploding_fast(path, label_origin, workers=1, **kwargs):
            for n, item in enumerate(real_fast(path, label_origin, block_bytes=64 << 10, workers=workers)):
                assert isinstance(item, FlatBlock)  # the fast path is really taken
                if n == 15:
                    exc()
                yield item

        monkeypatch.setattr(writer, "read_flat_fast", exploding_fast)


@pytest.mark.parametrize("path_kind", ["row", "fast"])
def test_exception_mid_ingest_leaves_previous_version(lake, tmp_path, monkeypatch, path_kind):
    import pipelines.ingest.writer as writer

    base = write_jsonl(tmp_path / "base.jsonl", [{"prompt": "p", "chosen": "a", "rejected": "b"}])
    ingest_paths(lake, [base])
    before = {t: lake.version(t) for t in lake.tables()}
    rows = [{"prompt": f"q{i}", "chosen": "a", "rejected": "b"} for i in range(30_000)]
    big = write_jsonl(tmp_path / "big.jsonl", rows)

    def fire():
        raise RuntimeError("disk on fire")

    _explode_after(monkeypatch, writer, path_kind, fire)
    with pytest.raises(RuntimeError, match="disk on fire"):
        ingest_paths(lake, [big], fast=path_kind == "fast")
    assert {t: lake.version(t) for t in lake.tables()} == before
    assert lake.dataset("pairs").count_rows() == 1


KILLER = """
import os, signal, sys
import pytest
import pipelines.ingest.writer as writer
from lake import Lake
from tests.ingest.test_writer import _explode_after
mp = pytest.MonkeyPatch()
_explode_after(mp, writer, sys.argv[3], lambda: os.kill(os.getpid(), signal.SIGKILL))
writer.ingest_paths(Lake(sys.argv[1]), [sys.argv[2]], fast=sys.argv[3] == "fast")
"""


@pytest.mark.parametrize("path_kind", ["row", "fast"])
def test_sigkill_mid_ingest_leaves_previous_version(lake, tmp_path, path_kind):
    base = write_jsonl(tmp_path / "base.jsonl", [{"prompt": "p", "chosen": "a", "rejected": "b"}])
    ingest_paths(lake, [base])
    before = {t: lake.version(t) for t in lake.tables()}
    big = write_jsonl(
        tmp_path / "big.jsonl", [{"prompt": f"q{i}", "chosen": "a", "rejected": "b"} for i in range(30_000)]
    )
    args = [sys.executable, "-c", KILLER, str(lake.root), str(big), path_kind]
    proc = subprocess.run(args, cwd=REPO, env={**os.environ}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert {t: lake.version(t) for t in lake.tables()} == before
    assert lake.dataset("pairs").count_rows() == 1
    report = ingest_paths(lake, [big])  # the next writer rolls back the leftovers and commits
    assert report.n_accepted == 30_000 and lake.dataset("pairs").count_rows() == 30_001


def test_ingest_refuses_a_lake_whose_ids_came_from_another_scheme(lake, tmp_path):
    from lake.store import LakeError

    path = write_jsonl(tmp_path / "a.jsonl", [{"prompt": "p", "chosen": "c", "rejected": "r"}])
    ingest_paths(lake, [path])
    manifest_path = lake.root / "_lake.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["ids"] == ids.SCHEME
    versions = {t: lake.version(t) for t in ("pairs", "pair_sources")}
    del manifest["ids"]  # as a lake written before the manifest recorded its id scheme
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(LakeError, match="new lake"):
        ingest_paths(lake, [path])
    assert {t: lake.version(t) for t in versions} == versions


def test_spooled_sightings_and_quarantine_equal_held_ones(tmp_path, monkeypatch):
    """Rows written to staged files every few rows give the same tables, each one version per ingest."""
    import pipelines.ingest.writer as writer

    rows = [{"prompt": f"p{i % 40}", "chosen": f"c{i}", "rejected": "r"} for i in range(300)]
    rows += [{"prompt": "bad", "chosen": "", "rejected": "r"}] * 20 + ['{"broken'] * 5
    path = write_jsonl(tmp_path / "mixed.jsonl", rows)
    again = write_jsonl(tmp_path / "again.jsonl", rows[:50])
    tables = []
    for spool in (writer.SPOOL_ROWS, 7):
        monkeypatch.setattr(writer, "SPOOL_ROWS", spool)
        lake = Lake(tmp_path / f"lake-{spool}")
        for fast in (True, False):
            ingest_paths(lake, [path, again], fast=fast)
        assert [h["version"] for h in lake.history("pair_sources")] == [1]  # the re-ingest added nothing
        assert len(lake.history("quarantine")) == 1
        got = {}
        for name in ("pair_sources", "quarantine"):
            t = lake.dataset(name).to_table()
            got[name] = t.drop_columns(
                [c for c in ("ingest_batch_id", "ingested_at", "quarantined_at") if c in t.column_names]
            ).to_pylist()
        tables.append(got)
    assert tables[0] == tables[1]
    assert len(tables[0]["pair_sources"]) == 350 and len(tables[0]["quarantine"]) == 25
