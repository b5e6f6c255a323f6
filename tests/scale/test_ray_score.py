"""RM scoring on a real local Ray cluster: the local engine's rows, one lake commit, a killed actor retried."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ray, pytest.mark.slow]
ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install -e '.[ray]'")

from scale_helpers import make_run  # noqa: E402

from lake import Lake  # noqa: E402
from pipelines.scale import EngineConfig, score_ray  # noqa: E402
from pipelines.scale.score import RewardScorer  # noqa: E402
from rm.config import ScoreConfig  # noqa: E402
from rm.score import column_prefix, score  # noqa: E402

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import a test module
ENGINE = EngineConfig(engine="ray", ray_actors=2, ray_actor_cpus=0.75, ray_batch_rows=1024)


class DiesOnce(RewardScorer):
    """Kills its own worker process on its first batch, once per marker file: Ray must retry that batch."""

    marker = ""

    def __call__(self, batch):
        marker = Path(self.marker)
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)
        return super().__call__(batch)


class Fails(RewardScorer):
    def __init__(self, **kwargs):  # no model: the job fails on its first batch
        pass

    def __call__(self, batch):
        raise ValueError("this stage always fails")


@pytest.fixture(scope="module")
def table(pairs_20k):
    return pairs_20k


def _lake(root: Path, table) -> Lake:
    lake = Lake(root)
    with lake.transaction("seed") as txn:
        txn.append("pairs", table)
    return lake


def _commits(lake: Lake) -> list[dict]:
    return [json.loads(line) for line in (lake.root / "_commits.jsonl").read_text().splitlines()]


def _scores(lake: Lake, run_id: str) -> dict[str, tuple[float, float, float, float]]:
    rows = lake.dataset("rm_scores").to_table(filter=f"run_id = '{run_id}'").to_pylist()
    out = {r["pair_id"]: (r["reward_chosen"], r["reward_rejected"], r["margin"], r["p"]) for r in rows}
    assert len(out) == len(rows), "a pair was scored twice"
    return out


def _assert_same(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    worst = max(abs(a - b) for pid in want for a, b in zip(got[pid], want[pid], strict=True))
    assert worst < 1e-4, f"rewards differ from the local engine by up to {worst}"


@pytest.fixture(scope="module")
def local_scores(tmp_path_factory, table, tiny_run):
    lake = _lake(tmp_path_factory.mktemp("local") / "lakehouse", table)
    score(lake, tiny_run, "pairs", config=ScoreConfig(run=tiny_run, torch_threads=1))
    return _scores(lake, "tiny"), lake


def test_ray_scoring_gives_the_local_rows_in_one_commit(ray_local, tmp_path, table, tiny_run, local_scores):
    want, local_lake = local_scores
    lake = _lake(tmp_path / "lakehouse", table)
    before = lake.commit()
    version = score_ray(lake, tiny_run, ScoreConfig(run=tiny_run), ENGINE).version
    after = lake.commit()
    assert after.number == before.number + 1, "the job must land as exactly one lake commit"
    last = _commits(lake)[-1]
    assert set(last["tables"]) == {"rm_scores", "pairs"} and "(ray)" in last["message"]
    assert version == lake.version("pairs") == last["tables"]["pairs"]
    _assert_same(_scores(lake, "tiny"), want)
    # the columns are the local engine's too, on every row
    prefix = column_prefix("tiny")
    cols = [prefix + f for f in ("reward_chosen", "reward_rejected", "margin", "p")]
    got = {r["pair_id"]: r for r in lake.dataset("pairs").to_table(columns=["pair_id", *cols]).to_pylist()}
    ref = {r["pair_id"]: r for r in local_lake.dataset("pairs").to_table(columns=["pair_id", *cols]).to_pylist()}
    assert got.keys() == ref.keys() and all(got[p][prefix + "p"] is not None for p in got)
    assert max(abs(got[p][c] - ref[p][c]) for p in ref for c in cols) < 1e-4
    # the version the job read is untouched
    assert not any(c.startswith(prefix) for c in lake.dataset("pairs", before.tables["pairs"]).schema.names)


def test_a_killed_actor_is_retried_and_every_pair_lands_once_in_one_commit(ray_local, tmp_path, table, tiny_run,
                                                                            local_scores):  # fmt: skip
    want, _ = local_scores
    lake = _lake(tmp_path / "lakehouse", table)
    run = make_run(tmp_path / "runs" / "tiny-kill", "tiny", checkpoint=tiny_run / "checkpoint")
    DiesOnce.marker = str(tmp_path / "killed")
    before = lake.commit()
    score_ray(lake, run, ScoreConfig(run=run), ENGINE, scorer=DiesOnce)
    assert (tmp_path / "killed").exists(), "no actor was killed: the test proved nothing"
    assert lake.commit().number == before.number + 1
    _assert_same(_scores(lake, "tiny"), want)


def test_a_failed_job_commits_nothing_and_leaves_no_file(ray_local, tmp_path, table, tiny_run):
    lake = _lake(tmp_path / "lakehouse", table)
    files = sorted(p for p in lake.root.rglob("*") if p.is_file())
    before = lake.commit()
    with pytest.raises(Exception, match="this stage always fails"):
        score_ray(lake, tiny_run, ScoreConfig(run=tiny_run), ENGINE, scorer=Fails)
    assert lake.commit() == before and not lake.exists("rm_scores")
    assert sorted(p for p in lake.root.rglob("*") if p.is_file()) == files


def test_score_command_with_engine_ray(ray_local, tmp_path, table, tiny_run, local_scores):
    from prefhouse.cli import main

    want, _ = local_scores
    lake = _lake(tmp_path / "lakehouse", table.slice(0, 300))
    before = lake.commit()
    args = ["--lake", str(lake.root), "score", "--run", str(tiny_run), "--engine", "ray", "--ray-actors", "1"]
    assert main(args) == 0
    assert lake.commit().number == before.number + 1
    _assert_same(_scores(lake, "tiny"), {p: want[p] for p in table.slice(0, 300)["pair_id"].to_pylist()})


def test_a_job_whose_commit_fails_rolls_back_and_reclaims_its_files(ray_local, tmp_path, table, tiny_run,
                                                                    monkeypatch):  # fmt: skip
    import pipelines.scale.score as ray_score

    lake = _lake(tmp_path / "lakehouse", table.slice(0, 500))
    score(lake, tiny_run, "pairs", config=ScoreConfig(run=tiny_run, torch_threads=1))  # rm_scores exists
    files = sorted(p for p in lake.root.rglob("*") if p.is_file())
    before = lake.commit()
    run = make_run(tmp_path / "runs" / "other", "other", checkpoint=tiny_run / "checkpoint")

    def merge_fails(txn, table, run_id, columns):  # the rm_scores append has landed in the transaction
        assert txn.written["rm_scores"] > before.tables["rm_scores"]
        raise OSError("disk full while merging the score columns")

    monkeypatch.setattr(ray_score, "merge_score_columns", merge_fails)
    with pytest.raises(OSError, match="disk full"):
        score_ray(lake, run, ScoreConfig(run=run), ENGINE)
    # the lake rolled the append back (its restore of the committed version is a commit of the same rows)
    last = _commits(lake)[-1]
    assert last["message"].startswith("recover:") and set(last["tables"]) == {"rm_scores"}
    assert lake.version("pairs") == before.tables["pairs"]
    assert lake.dataset("rm_scores").to_table() == lake.dataset("rm_scores", before.tables["rm_scores"]).to_table()
    data = [p for p in lake.root.rglob("*") if p.is_file() and p.parent.name == "data"]
    assert sorted(data) == [p for p in files if p.parent.name == "data"]  # the appended data files are reclaimed
