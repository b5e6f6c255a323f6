"""The round runner: step records, resumability after a kill, gate blocking, duplicate names."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lake import Lake
from lake.records import pair_row, pairs_table
from pipelines.rounds import GateBlocked, Step, StepResult, latest_by_step, run_round, step_records

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import toy_round  # noqa: E402


def _seed(lake: Lake) -> None:
    rows = [
        pair_row(f"question {i}", "a long and careful answer " * (i % 4 + 1), "short " * (i % 3 + 1)) for i in range(24)
    ]
    lake.append("pairs", pairs_table(rows))


def _content(lake: Lake) -> dict:
    def rows(table, drop):
        t = lake.dataset(table).to_table().drop_columns(drop).to_pylist()
        return sorted(t, key=lambda r: json.dumps(r, sort_keys=True, default=str))

    return {
        "rm_scores": rows("rm_scores", ["scored_at"]),
        "judge_labels": rows("judge_labels", ["judged_at"]),
        "curated": rows("curated", []),
        "tag": sorted(lake.tags("curated")),
        "tagged_rows": lake.dataset("curated", "round-1").count_rows(),
        "status": {k: v["status"] for k, v in latest_by_step(lake, 1, 1).items()},
    }


def test_records_every_step_with_versions(lake):
    _seed(lake)
    outcome = run_round(lake, 1, 1, toy_round.STEPS, log=lambda _m: None)
    assert outcome.status == "done" and outcome.ran == ["score", "label", "publish"]
    latest = latest_by_step(lake, 1, 1)
    assert {k: v["status"] for k, v in latest.items()} == {"score": "done", "label": "done", "publish": "done"}
    pub = latest["publish"]
    assert json.loads(pub["inputs"])["rm_scores"] == lake.version("rm_scores")
    assert json.loads(pub["outputs"])["curated"] == lake.version("curated")
    assert json.loads(pub["counts"])["kept"] == lake.dataset("curated", "round-1").count_rows() > 0
    # A second run finds every step finished and does nothing.
    again = run_round(lake, 1, 1, toy_round.STEPS, log=lambda _m: None)
    assert again.ran == [] and again.resumed == ["score", "label", "publish"]


def test_killed_round_resumes_to_the_same_result(tmp_path):
    clean, killed = Lake(tmp_path / "clean"), Lake(tmp_path / "killed")
    _seed(clean)
    _seed(killed)
    run_round(clean, 1, 1, toy_round.STEPS, log=lambda _m: None)

    pause = tmp_path / "paused"
    env = {**os.environ, "TOY_PAUSE_FILE": str(pause)}
    script = [sys.executable, str(HERE / "toy_round.py"), str(killed.root), "1"]
    proc = subprocess.Popen(script, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not pause.exists():
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.monotonic() < deadline, "the toy round never reached its pause"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    mid = latest_by_step(killed, 1, 1)
    assert mid["score"]["status"] == "done" and mid["label"]["status"] == "running" and "publish" not in mid

    done = subprocess.run(script, capture_output=True, text=True, check=True)
    assert "['label', 'publish'] ['score']" in done.stdout  # only the unfinished steps ran
    assert _content(killed) == _content(clean)
    assert [r["status"] for r in step_records(killed, 1, 1) if r["step"] == "score"] == ["running", "done"]


class _Gate(Step):
    name = "gate"

    def run(self, ctx):
        raise GateBlocked("pairs: expect_column_values_to_be_in_set failed on 1 rows")


class _Publish(Step):
    name = "publish"

    def run(self, ctx):  # pragma: no cover - must never run after a blocked gate
        raise AssertionError("published after a failed gate")


def test_blocked_gate_stops_the_round_and_rerun_retries_it(lake):
    outcome = run_round(lake, 3, 1, [_Gate(), _Publish()], log=lambda _m: None)
    assert outcome.status == "blocked" and "expect_column_values_to_be_in_set" in outcome.message
    latest = latest_by_step(lake, 3, 1)
    assert latest["gate"]["status"] == "failed" and "publish" not in latest
    assert run_round(lake, 3, 1, [_Gate(), _Publish()], log=lambda _m: None).status == "blocked"


def test_a_crashing_step_is_recorded_and_raises(lake):
    class Boom(Step):
        name = "boom"

        def run(self, ctx):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        run_round(lake, 1, 1, [Boom()], log=lambda _m: None)
    assert latest_by_step(lake, 1, 1)["boom"]["message"] == "RuntimeError: disk full"


def test_step_names_must_be_unique(lake):
    with pytest.raises(ValueError, match="step names must be unique"):
        run_round(lake, 1, 1, [_Gate(), _Gate()], log=lambda _m: None)


def test_skipped_step_is_finished_and_facts_flow(lake):
    class Skip(Step):
        name = "judge"

        def run(self, ctx):
            return StepResult(status="skipped", message="no LLM backend configured", facts={"judged": False})

    class Read(Step):
        name = "read"

        def run(self, ctx):
            return StepResult(counts={"judged": int(ctx.fact("judged"))})

    run_round(lake, 1, 1, [Skip(), Read()], log=lambda _m: None)
    latest = latest_by_step(lake, 1, 1)
    assert latest["judge"]["status"] == "skipped" and latest["judge"]["message"] == "no LLM backend configured"
    assert json.loads(latest["read"]["counts"]) == {"judged": 0}


def test_each_run_records_its_resolved_config_and_round_status_shows_it(lake, capsys):
    from pipelines.retrieval import RetrieveConfig
    from pipelines.rounds.config import RoundConfig
    from prefhouse.cli import main

    _seed(lake)
    config = RoundConfig(round=1, retrieve=RetrieveConfig(human_share=0.5), judges=["m=http://127.0.0.1:9/v1"])
    run_round(lake, 1, 1, toy_round.STEPS, config, log=lambda _m: None)
    (record,) = [r for r in step_records(lake, 1, 1) if r["step"] == "config"]
    facts = json.loads(record["facts"])
    assert facts["human_share"] == 0.5 and facts["judges"] == ["m=http://127.0.0.1:9/v1"] and facts["k_max"] == 8
    assert "human_share=0.5" in record["message"] and "k_max" not in record["message"]  # only what differs
    assert "config" not in latest_by_step(lake, 1, 1)  # a record of the run, not a step
    assert main(["--lake", str(lake.root), "round", "status", "--round", "1"]) == 0
    assert "config" in capsys.readouterr().out
