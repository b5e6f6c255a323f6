"""Judge votes (against a real local HTTP judge) and embeddings on a real local Ray cluster: the local results."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

pytestmark = [pytest.mark.ray, pytest.mark.slow]
pytest.importorskip("ray", reason="the ray extra is not installed: pip install -e '.[ray]'")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "annotate"))

import ray  # noqa: E402
import scale_helpers  # noqa: E402
from fake_openai import FakeOpenAI, attributes_answer, oracle_judge, user_text  # noqa: E402
from scale_helpers import Boom, seed_judge_queue  # noqa: E402

from lake import Lake  # noqa: E402
from lake.records import pair_row  # noqa: E402
from pipelines.annotate import GateConfig, JudgeConfig, judge_queue, make_backend  # noqa: E402
from pipelines.annotate.llm import LLMConfig  # noqa: E402
from pipelines.scale import EngineConfig, RayRunner  # noqa: E402
from pipelines.scale.embed import embed_ray  # noqa: E402
from pipelines.scale.llm import CallWorker, RemoteCache, cache_server  # noqa: E402

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import a test module

N_QUEUED = 400
N_EMBEDDED = 400
ENGINE = EngineConfig(engine="ray", ray_actors=2, ray_actor_cpus=0.75, ray_batch_rows=200)
EMBED_ENGINE = EngineConfig(engine="ray", ray_actors=1, ray_actor_cpus=1.0, ray_batch_rows=200)  # one model load
VOTE_KEY = ("pair_id", "sample", "is_chosen_shown_first", "vote", "rationale", "n_demonstrations")


def _seed(root: Path, pool: pa.Table) -> Lake:
    """The 20k pairs plus 32 human-labelled gold pairs; the first N_QUEUED pairs queued for the judge."""
    lake = Lake(root)
    gold = [pair_row(f"gold question {i}?", f"GOOD answer {i}", f"bad answer {i}", source_row=i) for i in range(32)]
    seed_judge_queue(lake, pool, gold, N_QUEUED)
    return lake


def _votes(lake: Lake) -> set[tuple]:
    rows = lake.dataset("judge_labels").to_table().to_pylist()
    return {tuple(r[k] for k in VOTE_KEY) for r in rows}


def test_ray_judge_gives_the_local_verdicts_and_honours_the_call_cache(ray_local, tmp_path, pairs_20k):
    cfg, gate = JudgeConfig(samples=1, max_invalid_retries=0), GateConfig()
    with FakeOpenAI(oracle_judge(), model="oracle") as server:
        backend = make_backend(LLMConfig(base_url=server.base_url))
        local = _seed(tmp_path / "local", pairs_20k)
        judge_queue(local, [backend], cfg, gate)
        n_local = len(server.requests)
        lake = _seed(tmp_path / "ray", pairs_20k)
        before = lake.commit()
        report = judge_queue(lake, [backend], cfg, gate, RayRunner(ENGINE))
        n_ray = len(server.requests)
        # the same prompts (gate, then votes) went to the judge from the actors as from this process
        ray_prompts = [json.dumps(b["messages"]) for b in server.requests[n_local:n_ray]]
        local_prompts = [json.dumps(b["messages"]) for b in server.requests[:n_local]]
        assert sorted(ray_prompts) == sorted(local_prompts)
        # a second run on Ray finds every answer in the cache the actors filled: nothing is asked again
        judge_queue(lake, [backend], cfg, gate, RayRunner(ENGINE))
        assert len(server.requests) == n_ray
    assert report.trusted_models == ["oracle"] and report.n_merged == N_QUEUED
    assert _votes(lake) == _votes(local) and len(_votes(lake)) == N_QUEUED
    assert {v[3] for v in _votes(lake)} == {"chosen", "rejected"}  # both verdicts occur: a real comparison
    commits = [json.loads(line) for line in (lake.root / "_commits.jsonl").read_text().splitlines()]
    new = commits[before.number :]
    ray_commits = [c for c in new if "(ray)" in c["message"]]
    assert len(ray_commits) == 2 and all(set(c["tables"]) == {"judge_labels"} for c in ray_commits)


class DiesAfterAnswering(CallWorker):
    """Answers its first batch (each answer stored as it arrives), then kills its own process before
    returning the rows, once per marker file: Ray retries the batch on a restarted actor."""

    marker = ""

    def __call__(self, batch):
        out = super().__call__(batch)
        marker = Path(self.marker)
        if out.num_rows and not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)
        return out


def test_a_killed_judge_actor_pays_no_call_twice_and_lands_every_vote_once(ray_local, tmp_path, pairs_20k):
    cfg, gate = JudgeConfig(samples=1, max_invalid_retries=0), GateConfig()
    lake = _seed(tmp_path / "lakehouse", pairs_20k.slice(0, 2 * N_QUEUED))
    DiesAfterAnswering.marker = str(tmp_path / "killed")
    with FakeOpenAI(oracle_judge(), model="oracle") as server:
        backend = make_backend(LLMConfig(base_url=server.base_url))
        before = lake.commit()
        report = judge_queue(lake, [backend], cfg, gate, RayRunner(ENGINE, worker=DiesAfterAnswering))
        prompts = [json.dumps(b["messages"]) for b in server.requests]
    assert Path(DiesAfterAnswering.marker).exists(), "no actor was killed: the test proved nothing"
    # the gate's calls, then one call per queued pair: the retried batch found its answers in the cache
    n_gate = 2 * 32  # every gold pair, both orders
    assert len(prompts) == len(set(prompts)) == n_gate + N_QUEUED
    assert report.n_merged == N_QUEUED and len(_votes(lake)) == N_QUEUED
    commits = [json.loads(line) for line in (lake.root / "_commits.jsonl").read_text().splitlines()]
    ray_commits = [c for c in commits[before.number :] if "(ray)" in c["message"]]
    assert len(ray_commits) == 1 and set(ray_commits[0]["tables"]) == {"judge_labels"}


@ray.remote(num_cpus=0.25)
def _store_from_a_worker(server, key: str) -> tuple[str | None, int]:
    cache = RemoteCache(server)
    fields = {"template_version": "t1", "model": "m", "sampling": "s", "pair_id": "p", "variant": "v"}
    cache.put(key, "an answer", **fields)
    cache.flush()
    return cache.get_many([key, "absent"]).get(key), os.getpid()


def test_the_call_cache_is_opened_by_one_server_on_the_drivers_node(ray_local, tmp_path):
    from pipelines.annotate.cache import CallCache

    with cache_server(tmp_path) as server:
        node, pid = ray.get(server.where.remote())
        got, worker_pid = ray.get(_store_from_a_worker.remote(server, "k1"))
    assert node == ray.get_runtime_context().get_node_id() and pid not in (os.getpid(), worker_pid)
    assert got == "an answer"
    cache = CallCache.for_lake(tmp_path)  # the worker's answer is in the lake's file, read after the job
    assert cache.get_many(["k1"]) == {"k1": "an answer"} and cache.count() == 1


def _annotator(body: dict) -> tuple[int, str, float]:
    """Attributes for every pair (objective when the prompt's number is even); a pre-check that finds GOOD."""
    text = user_text(body)
    if "<response>" in text:
        response = text[text.index("<response>") :]
        verdict = "correct" if "GOOD" in response else "incorrect"
        return 200, json.dumps({"rationale": "checked it", "verdict": verdict}), 0.0
    number = int(text.split(" number ")[1].split()[0].split("<")[0]) if " number " in text else 0
    return 200, attributes_answer("objective" if number % 2 == 0 else "subjective"), 0.0


def _rows(lake: Lake, table: str, key: tuple[str, ...], skip: tuple[str, ...]) -> dict[tuple, dict]:
    rows = lake.dataset(table).to_table().to_pylist()
    return {tuple(r[k] for k in key): {k: v for k, v in r.items() if k not in skip} for r in rows}


def test_ray_attributes_and_prechecks_give_the_local_rows_one_commit_each(ray_local, tmp_path, pairs_20k):
    from pipelines.annotate import AttributesConfig, annotate_attributes
    from pipelines.annotate.precheck import PrecheckConfig, precheck

    pool = pairs_20k.slice(0, N_QUEUED)
    attrs_key, checks_key = ("pair_id", "model"), ("pair_id", "side", "model")
    lakes = {}
    with FakeOpenAI(_annotator, model="annotator") as server:
        backend = make_backend(LLMConfig(base_url=server.base_url))
        for engine, runner in (("local", None), ("ray", RayRunner(ENGINE))):
            lake = Lake(tmp_path / engine)
            lake.append("pairs", pool)
            before = lake.commit().number
            extra = {} if runner is None else {"runner": runner}
            attrs = annotate_attributes(lake, backend, AttributesConfig(), **extra)
            checks = precheck(lake, backend, PrecheckConfig(all_objective=True), **extra)
            assert lake.commit().number == before + 2  # one commit per stage
            assert attrs.n_ok == N_QUEUED and attrs.n_calls_paid == N_QUEUED
            assert checks.n_pairs == N_QUEUED // 2 and checks.n_checked == N_QUEUED
            lakes[engine] = lake
        n_asked = len(server.requests)
        # a second run on Ray has nothing left to annotate; re-checking finds every answer in the cache
        again = precheck(lakes["ray"], backend, PrecheckConfig(all_objective=True), runner=RayRunner(ENGINE))
        assert again.n_checked == N_QUEUED and len(server.requests) == n_asked
    assert _rows(lakes["ray"], "attributes", attrs_key, ("annotated_at",)) == _rows(
        lakes["local"], "attributes", attrs_key, ("annotated_at",)
    )
    checks = _rows(lakes["ray"], "prechecks", checks_key, ("checked_at",))
    assert checks == _rows(lakes["local"], "prechecks", checks_key, ("checked_at",))
    assert {r["is_correct"] for r in checks.values()} == {True, False}  # both verdicts: sides really differ
    commits = [json.loads(line) for line in (lakes["ray"].root / "_commits.jsonl").read_text().splitlines()]
    assert [c["message"].endswith("(ray)") for c in commits[-3:]] == [True, True, True]


def _vectors(lake: Lake) -> dict[str, list[float]]:
    rows = lake.dataset("embeddings").to_table(columns=["pair_id", "vector", "text_hash", "model"]).to_pylist()
    return {r["pair_id"]: (r["vector"], r["text_hash"], r["model"]) for r in rows}


def _attributes_for(lake: Lake, pair_ids: list[str]) -> None:
    """Attributes rows for ``pair_ids``: their embedded text (header + conversation) changes."""
    from lake.schemas import ATTRIBUTES

    now = datetime.now(UTC)
    rows = [
        {"pair_id": p, "status": "ok", "task_category": "factual_qa", "objectivity": "objective",
         "controversiality": "low", "desired_attributes": ["correct"], "guideline": "be right", "raw_output": None,
         "error": None, "model": "m", "template_version": "attributes.v1", "annotated_at": now}
        for p in pair_ids
    ]  # fmt: skip
    lake.append("attributes", pa.Table.from_pylist(rows, schema=ATTRIBUTES))


def test_ray_embedding_gives_the_local_vectors_in_one_commit(ray_local, tmp_path, pairs_20k):
    from pipelines.retrieval import EmbedConfig, embed_pairs

    pool = pairs_20k.slice(0, N_EMBEDDED)
    cfg = EmbedConfig(progress=False, threads=1)
    local = Lake(tmp_path / "local")
    local.append("pairs", pool)
    embed_pairs(local, cfg)
    lake = Lake(tmp_path / "ray")
    lake.append("pairs", pool)
    before = lake.commit()
    report = embed_ray(lake, cfg, EMBED_ENGINE)
    assert lake.commit().number == before.number + 1 and report.n_embedded == N_EMBEDDED
    got, want = _vectors(lake), _vectors(local)
    assert got.keys() == want.keys() and len(got) == N_EMBEDDED
    assert all(got[p][1:] == want[p][1:] for p in want)  # same texts, same model
    assert max(float(np.abs(np.subtract(got[p][0], want[p][0])).max()) for p in want) < 1e-4
    # the workers wrote the vectors as files into the lake's staging folder, moved into the table at the commit
    assert not any((lake.root / "_staging").iterdir())
    # a re-run over an unchanged lake embeds nothing and writes nothing, as the local stage
    assert embed_ray(lake, cfg, EMBED_ENGINE).n_embedded == 0 and lake.commit().number == before.number + 1
    # 40 pairs get attributes, so their text changes: those 40 are embedded again, their old rows replaced
    changed = pool["pair_id"].to_pylist()[:40]
    for target in (local, lake):
        _attributes_for(target, changed)
    assert embed_pairs(local, cfg).n_embedded == 40
    assert embed_ray(lake, cfg, EMBED_ENGINE).n_embedded == 40
    got, want = _vectors(lake), _vectors(local)
    assert len(got) == N_EMBEDDED == lake.dataset("embeddings").count_rows()  # one row a pair: the old ones went
    assert all(got[p][1:] == want[p][1:] for p in want)
    assert max(float(np.abs(np.subtract(got[p][0], want[p][0])).max()) for p in want) < 1e-4


def test_a_failed_embedding_job_commits_nothing_and_leaves_no_file(ray_local, tmp_path, pairs_20k, monkeypatch):
    from pipelines.retrieval import EmbedConfig
    from pipelines.scale import embed as ray_embed

    lake = Lake(tmp_path / "lake")
    lake.append("pairs", pairs_20k.slice(0, 50))
    before, files = lake.commit(), sorted(p for p in lake.root.rglob("*") if "_staging" not in p.parts)
    import ray

    ray.cloudpickle.register_pickle_by_value(scale_helpers)  # the workers cannot import a test helper
    monkeypatch.setattr(ray_embed, "PairEncoder", Boom)
    with pytest.raises(Exception, match="boom"):
        embed_ray(lake, EmbedConfig(progress=False, threads=1), EngineConfig(engine="ray", ray_actors=1,
                  ray_actor_cpus=1.0, ray_retries=0))  # fmt: skip
    assert lake.commit() == before and not lake.exists("embeddings")
    assert sorted(p for p in lake.root.rglob("*") if "_staging" not in p.parts) == files
    assert not any((lake.root / "_staging").iterdir())


def test_judge_command_with_engine_ray(ray_local, tmp_path, pairs_20k, capsys):
    from prefhouse.cli import main

    lake = _seed(tmp_path / "lakehouse", pairs_20k.slice(0, 40))
    with FakeOpenAI(oracle_judge(), model="oracle") as server:
        args = ["--lake", str(lake.root), "judge", "--base-url", server.base_url, "--samples", "1",
                "--engine", "ray", "--ray-actors", "1"]  # fmt: skip
        assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["trusted_models"] == ["oracle"] and report["n_merged"] == 40
    commits = [json.loads(line) for line in (lake.root / "_commits.jsonl").read_text().splitlines()]
    assert "(ray)" in commits[-1]["message"] and set(commits[-1]["tables"]) == {"judge_labels"}


def test_a_round_on_the_ray_engine_gives_the_local_rounds_rows(ray_local, tmp_path, pairs_20k, tiny_run):
    """``--engine ray`` for a round: attributes, embeddings and the pool's scoring run as Ray jobs on the
    round's one cluster (here the fixture's), each one commit, with the rows the local round writes."""
    from pipelines.rounds import RoundContext, Step, StepResult, latest_by_step, run_round
    from pipelines.rounds.config import RoundConfig
    from pipelines.rounds.stage2 import ScorePool
    from pipelines.rounds.steps_common import Attributes, Embed

    class BothRuns(Step):  # the gold and best RM of Stage 2, here one tiny run: the second scoring has nothing left
        name = "runs"

        def run(self, ctx: RoundContext) -> StepResult:
            return StepResult(facts={"gold_run_dir": str(tiny_run), "best_run_dir": str(tiny_run)})

    pool = pairs_20k.slice(0, 200)
    engine = EngineConfig(engine="ray", ray_actors=1, ray_actor_cpus=1.0)  # one model load per stage
    lakes, counts = {}, {}
    with FakeOpenAI(_annotator, model="annotator") as server:
        for name, config in (("local", EngineConfig()), ("ray", engine)):
            lake = lakes[name] = Lake(tmp_path / name)
            lake.append("pairs", pool)
            cfg = RoundConfig(stage=2, llm=LLMConfig(base_url=server.base_url), engine=config)
            outcome = run_round(lake, 1, 2, [Attributes(), Embed(), BothRuns(), ScorePool()], cfg, log=lambda _m: None)
            assert outcome.status == "done" and outcome.ran == ["attributes", "embed", "runs", "score_pool"]
            counts[name] = {s: json.loads(r["counts"]) for s, r in latest_by_step(lake, 1, 2).items()}
    assert counts["ray"]["attributes"] == counts["local"]["attributes"]
    assert counts["ray"]["score_pool"] == counts["local"]["score_pool"] == {
        "pairs": 200, "gold_n_scored": 200, "gold_columns_written": 0, "best_n_scored": 0, "best_columns_written": 0,
    }  # fmt: skip
    attrs_key = ("pair_id", "model")
    assert _rows(lakes["ray"], "attributes", attrs_key, ("annotated_at",)) == _rows(
        lakes["local"], "attributes", attrs_key, ("annotated_at",)
    )
    got, want = _vectors(lakes["ray"]), _vectors(lakes["local"])
    assert got.keys() == want.keys() and all(got[p][1:] == want[p][1:] for p in want)
    assert max(float(np.abs(np.subtract(got[p][0], want[p][0])).max()) for p in want) < 1e-4
    score_key = ("run_id", "pair_id")
    scores = _rows(lakes["ray"], "rm_scores", score_key, ("scored_at",))
    local_scores = _rows(lakes["local"], "rm_scores", score_key, ("scored_at",))
    assert scores.keys() == local_scores.keys() and len(scores) == 200
    assert max(abs(scores[k]["margin"] - local_scores[k]["margin"]) for k in scores) < 1e-4
    commits = [json.loads(line) for line in (lakes["ray"].root / "_commits.jsonl").read_text().splitlines()]
    ray_commits = [c["message"] for c in commits if c["message"].endswith("(ray)")]
    assert len(ray_commits) == 3, ray_commits  # attributes, embeddings, the gold run's scores: one commit each
