"""A small Stage 1 + Stage 2 on a tiny real lake: tags, step records, the gate, a blocked bad batch,
benchmark eval of every round's RMs.

Real parts throughout: ingest of the repo's sample files, PandaLM annotator labels as gold,
MiniLM reward models (a few steps), embeddings, retrieval, benchmark eval on the hand-written
files of tests/bench_layouts, dbt build, the GX gate, publish.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from lake.schemas import RM_SCORES
from pipelines.report.benchmarks import benchmark_rows
from pipelines.rounds import latest_by_step
from pipelines.rounds.config import RoundConfig, round_rm
from pipelines.rounds.plan import run_configured_round

DATA = Path(__file__).resolve().parents[2] / "data"
BENCH = Path(__file__).resolve().parents[1] / "bench_layouts"
EVAL = [BENCH / "llmbar", BENCH / "evalbiasbench.json"]  # LLMBar's folder layout (2 items), EvalBiasBench's (3)

pytestmark = pytest.mark.slow


def _tiny_lake(lake, tmp_path) -> None:
    from pipelines.ingest import ingest_paths
    from pipelines.labelapp.importers import import_original

    hh = tmp_path / "hh" / "helpful-base" / "test.jsonl.gz"
    hh.parent.mkdir(parents=True)
    with gzip.open(DATA / "hh-rlhf" / "helpful-base" / "test.jsonl.gz", "rt") as fin, gzip.open(hh, "wt") as fout:
        for _, line in zip(range(40), fin, strict=False):
            fout.write(line)
    panda = tmp_path / "pandalm.json"
    panda.write_text(json.dumps(json.loads((DATA / "pandalm" / "testset-v1.json").read_text())[:40]))
    ingest_paths(lake, [hh], format="hh-rlhf", source="hh-rlhf:helpful-base")
    ingest_paths(lake, [panda], format="pandalm", source="pandalm")
    ingest_paths(lake, [DATA / "llmbar" / "LLMBar" / "Natural"], source="llmbar", as_benchmark=True)
    planted = tmp_path / "near-duplicates.jsonl"  # two prompts that differ by one word: one cluster
    planted.write_text(
        "".join(
            json.dumps({"prompt": f"What is the capital city of France? Answer in one word{tail}.",
                        "chosen": "Paris.", "rejected": f"Lyon{tail}."}) + "\n"
            for tail in ("", " please")
        )
    )  # fmt: skip
    ingest_paths(lake, [planted], format="flat", source="planted")
    import_original(lake, "pandalm", round=0)


def _preferred_texts(lake) -> set[str]:
    """The text of the side each pair's label prefers (gold where humans decided, else the original)."""
    from lake.labels import gold_verdicts

    gold = gold_verdicts(lake)
    rows = lake.dataset("pairs").to_table(columns=["pair_id", "chosen", "rejected"]).to_pylist()
    return {(r["rejected"] if gold.get(r["pair_id"]) == "rejected" else r["chosen"]).strip()[:200] for r in rows}


def _config(rnd: int, stage: int) -> RoundConfig:
    return RoundConfig(
        round=rnd, stage=stage, rm=round_rm(max_steps=2, limit=48, max_length=64, batch_size=8), eval_benchmarks=EVAL
    )


def test_stage1_stage2_with_a_blocked_bad_batch(lake, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    _tiny_lake(lake, tmp_path)
    quiet = lambda _m: None  # noqa: E731

    first = run_configured_round(lake, _config(1, 1), log=quiet)
    assert first.status == "done", first.message
    steps = latest_by_step(lake, 1, 1)
    assert steps["judge"]["status"] == "skipped" and "no LLM backend" in steps["judge"]["message"]
    assert all(
        steps[s]["status"] == "done" for s in ("silver_rm", "score_gold", "retrieve", "dbt_build", "gate", "publish")
    )
    assert json.loads(steps["silver_rm"]["outputs"])["rm_runs"] == lake.version("rm_runs")
    assert "round-1" in lake.tags("curated")
    counts = json.loads(steps["eval_benchmarks"]["counts"])
    assert counts == {"rms": 1, "benchmarks": 2, "evaluated": 2, "already_evaluated": 0, "items_scored": 5}
    assert {(r["run_id"], r["bench"]) for r in lake.dataset("rm_eval").to_table().to_pylist()} == {
        ("round-1-silver", "llmbar"),
        ("round-1-silver", "evalbiasbench"),
    }
    round1_version = lake.tags("curated")["round-1"]["version"]

    # A planted bad batch of scores (p outside [0, 1]) must block round 2's publish.
    bad = pa.Table.from_pylist(
        [dict(run_id="planted", pair_id="deadbeef" * 4, reward_chosen=3.0, reward_rejected=0.0, margin=3.0, p=1.7,
              scored_at=datetime.now(UTC))],
        schema=RM_SCORES,
    )  # fmt: skip
    lake.append("rm_scores", bad, "planted bad batch")
    blocked = run_configured_round(lake, _config(2, 1), log=quiet)
    assert blocked.status == "blocked"
    assert "rm_scores: expect_column_values_to_be_between(column=p" in blocked.message
    assert "deadbeef" * 4 in blocked.message
    assert latest_by_step(lake, 2, 1)["gate"]["status"] == "failed"
    assert "publish" not in latest_by_step(lake, 2, 1)
    assert "round-2" not in lake.tags("curated")
    assert lake.tags("curated")["round-1"]["version"] == round1_version  # the previous tag did not move

    # Remove the bad batch and re-run: only the gate onwards runs again.
    with lake.transaction("remove planted batch") as txn:
        txn.delete("rm_scores", "run_id = 'planted'")
    resumed = run_configured_round(lake, _config(2, 1), log=quiet)
    assert resumed.status == "done", resumed.message
    assert resumed.ran == ["gate", "publish", "report"] and "silver_rm" in resumed.resumed
    assert "round-2" in lake.tags("curated")

    # Round 3 switches on what the command line alone once reached: two judges, each its own model
    # on its own real local HTTP server (one knows the answers, one always picks the first-shown
    # side), near-duplicate clustering before the build, and score columns written back to pairs.
    from tests.annotate.fake_openai import FakeOpenAI, lookup_judge, oracle_judge

    pairs_before = lake.version("pairs")
    with (
        FakeOpenAI(lookup_judge(_preferred_texts(lake)), model="knows") as good,
        FakeOpenAI(oracle_judge(first_always=True), model="first-shown") as bad,
    ):
        cfg = _config(3, 2)
        cfg.judges = [f"knows={good.base_url}", f"first-shown={bad.base_url}"]
        cfg.judge.merge, cfg.score.write_columns = "majority", True
        final = run_configured_round(lake, cfg, log=quiet)
    assert final.status == "done", final.message
    steps = latest_by_step(lake, 3, 2)
    assert [
        steps[s]["status"]
        for s in ("gold_rm", "best_rm", "score_pool", "neardup", "triage", "judge", "dbt_build", "gate", "publish")
    ] == ["done"] * 9
    judge = json.loads(steps["judge"]["facts"])
    assert judge["judges"] == ["knows", "first-shown"] and judge["trusted_judges"] == ["knows"]
    assert judge["judge_merge"] == "majority" and json.loads(steps["judge"]["counts"])["judges"] == 2
    gates = {r["model"]: r["is_trusted"] for r in lake.dataset("judge_gates").to_table().to_pylist()}
    assert gates == {"knows": True, "first-shown": False}
    assert {r["model"] for r in lake.dataset("judge_labels").to_table(columns=["model"]).to_pylist()} == {"knows"}
    neardup = json.loads(steps["neardup"]["counts"])
    assert neardup["n_clusters"] >= 1 and json.loads(steps["neardup"]["outputs"])["neighbours"] is not None
    score_outputs = json.loads(steps["score_pool"]["outputs"])
    assert score_outputs["pairs"] > pairs_before  # the score columns are a new version of pairs
    assert any(name.startswith("rm_") for name in lake.dataset("pairs").schema.names)
    assert "round-3" in lake.tags("curated") and "round-3" in lake.tags("flipped")
    kept, flipped = lake.dataset("curated", "round-3").count_rows(), lake.dataset("flipped", "round-3").count_rows()
    counts = json.loads(steps["publish"]["counts"])
    assert counts["kept"] == kept and counts["flipped"] == flipped and counts["in"] >= kept + flipped > 0
    # Every round's RMs on the benchmarks: silver in rounds 1-2, gold and best in round 3; the best RM
    # is a Stage-1 silver RM, evaluated in its own round and not scored again.
    counts = json.loads(steps["eval_benchmarks"]["counts"])
    assert counts == {"rms": 2, "benchmarks": 2, "evaluated": 2, "already_evaluated": 2, "items_scored": 5}
    rows = benchmark_rows(lake, 3)
    assert {(r["round"], r["role"], r["bench"]) for r in rows} == {
        (rnd, role, bench)
        for rnd, role in ((1, "silver"), (2, "silver"), (3, "gold"), (3, "best"))
        for bench in ("llmbar", "evalbiasbench")
    }
    assert all(r["n"] > 0 and 0 <= r["accuracy"] <= 1 for r in rows)
    assert {r["run_id"] for r in rows if r["role"] == "best"} == {json.loads(steps["best_rm"]["facts"])["best_run_id"]}
    report = (lake.root / "_reports" / "round-3" / "report.html").read_text()
    assert report.count("<svg") == 7 and "round-3" in report
    assert "gold RM accuracy" in report and "best RM accuracy" in report and "evalbiasbench" in report

    # One SQL surface: round 3's tags, its marts and pairs in one `prefhouse sql` call, and the same
    # query in a plain DuckDB client on the analyst file the rounds keep current.
    import duckdb

    from pipelines.demo import published_join
    from prefhouse.cli import main

    _, sql = published_join(3)
    assert main(["--lake", str(lake.root), "sql", sql, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sum(r["pairs"] for r in rows) == kept + flipped
    assert {r["decision"] for r in rows} <= {"keep", "flip"}
    con = duckdb.connect(str(lake.root / "lake.duckdb"), read_only=True)
    try:
        assert sum(r[3] for r in con.execute(sql).fetchall()) == kept + flipped
        assert con.execute("select round from _marts_builds where is_last").fetchall() == [(3,)]
    finally:
        con.close()
