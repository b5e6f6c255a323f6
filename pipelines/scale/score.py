"""Reward-model scoring as a Ray job: the rows and columns of ``rm.score.score`` in one lake commit.

Each actor loads the run once (:func:`rm.score.make_scorer`) and turns a batch of pairs into
``rm_scores`` rows with the local engine's row builder (:func:`rm.score.score_rows`). Pairs the
run already scored are skipped, as the local engine skips them. The driver then appends every
row to ``rm_scores`` and merges the ``rm_<run>_*`` columns onto the table (from all of the
run's rows, this job's included) in one transaction: one lake commit per job, where the local
engine commits chunk by chunk and then the columns.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import lance
import pyarrow as pa

from lake import Lake
from lake.schemas import RM_SCORES
from pipelines.scale.cluster import EngineConfig
from pipelines.scale.job import Stage, map_table
from rm.config import ScoreConfig
from rm.data import example_from_row, pair_scan
from rm.inference import run_id_of
from rm.score import ScoreReport, make_scorer, merge_score_columns, score_columns, score_rows, scored_ids


class RewardScorer:
    """One actor's scorer: the run's model, loaded once; a batch of pairs in, ``rm_scores`` rows out."""

    def __init__(self, run_dir: str, config: ScoreConfig, skip: frozenset[str]) -> None:
        self.run_id = run_id_of(run_dir)
        self.score = make_scorer(config, Path(run_dir))
        self.skip = skip

    def __call__(self, batch: pa.Table) -> pa.Table:
        examples = [example_from_row(r) for r in batch.to_pylist() if r["pair_id"] not in self.skip]
        if not examples:
            return RM_SCORES.empty_table()
        rc, rr = self.score(examples)
        return score_rows(self.run_id, examples, rc, rr)


def score_stage(lake: Lake, run_dir: Path, config: ScoreConfig, engine: EngineConfig, scorer: type) -> Stage:
    """The scoring stage over ``config.table`` (what each actor gets, and what it reads)."""
    with lake.reading_at():
        names = lake.dataset(config.table, config.at).schema.names
        done = frozenset(scored_ids(lake, run_id_of(run_dir)))  # skipped, as the local engine skips them
    columns, where = pair_scan(names, f"{config.table}@{config.at or 'committed'}")
    actor_config = dataclasses.replace(config, torch_threads=engine.threads)
    kwargs: dict[str, Any] = {"run_dir": str(run_dir), "config": actor_config, "skip": done}
    return Stage(scorer, kwargs, RM_SCORES, columns=columns, filter=where)


def score_ray(
    lake: Lake,
    run_dir: str | Path,
    config: ScoreConfig | None = None,
    engine: EngineConfig | None = None,
    scorer: type = RewardScorer,
) -> ScoreReport:
    """Score ``config.table`` on Ray: the report of :func:`rm.score.score`, from one commit."""
    run_dir = Path(run_dir)
    config = config or ScoreConfig(run=run_dir)
    engine = engine or EngineConfig(engine="ray")
    run_id = run_id_of(run_dir)
    with lake.reading_at():  # one commit: the pairs skipped are those of the version read
        stage = score_stage(lake, run_dir, config, engine, scorer)
        with map_table(lake, config.table, stage, engine, config.at) as results:
            message = f"rm scores {run_id}: {results.rows} pairs of {config.table}@v{results.read_version} (ray)"
            with lake.transaction(message) as txn:
                version = lake.version("rm_scores") or 0
                if results.rows:
                    version = txn.append("rm_scores", results.reader())
                if config.write_columns:
                    scores = lance.dataset(str(lake.path("rm_scores")), version=version) if version else None
                    columns = score_columns(scores or lake.dataset("rm_scores"), run_id)
                    version = merge_score_columns(txn, config.table, run_id, columns)
    return ScoreReport(run_id, config.table, results.rows, int(config.write_columns), version)
