"""Score lake pairs with a trained run and write the rewards back.

For every pair of ``table`` (at a version or tag) the run's model gives ``reward_chosen``,
``reward_rejected``, ``margin = r_c - r_r`` and ``p = sigmoid(margin)``. They land twice:

- as rows of the long ``rm_scores`` table (run_id, pair_id, ...), appended chunk by chunk,
  each chunk its own lake commit: a crash loses at most one chunk, and a re-run skips the
  pairs this run already scored (resumable);
- as columns ``rm_<run>_reward_chosen`` / ``_reward_rejected`` / ``_margin`` / ``_p`` on the
  scored table itself, added with Lance's merge (no rewrite of the existing columns) in one
  lake transaction: a new table version per scoring run.

The snapshot streams in Arrow batches; within a chunk pairs are sorted by length.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lake.reports import Counted
from lake.sql import sql_string
from rm.config import ScoreConfig
from rm.data import Example, encode
from rm.inference import load_run, run_id_of, score_encoded, sigmoid
from rm.model import use_bf16

log = logging.getLogger(__name__)
SCORE_FIELDS = ("reward_chosen", "reward_rejected", "margin", "p")


@dataclass
class ScoreReport(Counted):
    """One scoring call: pairs it scored (those the run had scored already are skipped), whether it
    wrote the score columns, and the version it left (the table's, or ``rm_scores``' without columns)."""

    run_id: str
    table: str
    n_scored: int = 0
    columns_written: int = 0
    version: int | None = None


def column_prefix(run_id: str) -> str:
    """``rm_<run>_``, with the run id reduced to SQL-friendly characters."""
    return "rm_" + re.sub(r"[^0-9a-zA-Z_]+", "_", run_id).strip("_").lower() + "_"


def scored_ids(lake: Any, run_id: str) -> set[str]:
    """Pairs this run already has rows for in ``rm_scores`` (what a resumed run skips)."""
    if not lake.exists("rm_scores"):
        return set()
    t = lake.dataset("rm_scores").to_table(columns=["pair_id"], filter=f"run_id = {sql_string(run_id)}")
    return set(t["pair_id"].to_pylist())


def _chunks(snapshot: Any, skip: set[str], wanted: set[str] | None, size: int) -> Iterator[list[Example]]:
    from rm.data import read_snapshot_pairs

    seen: set[str] = set()
    buf: list[Example] = []
    for ex in read_snapshot_pairs(snapshot):
        if ex.pair_id in skip or ex.pair_id in seen or (wanted is not None and ex.pair_id not in wanted):
            continue
        seen.add(ex.pair_id)
        buf.append(ex)
        if len(buf) >= size:
            yield buf
            buf = []
    if buf:
        yield buf


def score_rows(run_id: str, examples: list[Example], rc: list[float], rr: list[float]) -> Any:
    import pyarrow as pa

    from lake.schemas import RM_SCORES

    now = datetime.now(UTC)
    margins = [c - r for c, r in zip(rc, rr, strict=True)]
    return pa.table(
        {
            "run_id": [run_id] * len(examples),
            "pair_id": [e.pair_id for e in examples],
            "reward_chosen": pa.array(rc, pa.float32()),
            "reward_rejected": pa.array(rr, pa.float32()),
            "margin": pa.array(margins, pa.float32()),
            "p": pa.array([sigmoid(m) for m in margins], pa.float32()),
            "scored_at": pa.array([now] * len(examples), RM_SCORES.field("scored_at").type),
        },
        schema=RM_SCORES,
    )


def make_scorer(config: ScoreConfig, run_dir: Path) -> Callable[[list[Example]], tuple[list[float], list[float]]]:
    """A function examples -> (rewards chosen, rewards rejected) for the chosen backend (loads the model)."""
    model, tok, run_cfg = load_run(run_dir, config.device, config.torch_threads)
    max_length = config.max_length or int(run_cfg.get("max_length", 256))
    bf16 = use_bf16(config.precision, next(model.parameters()).device.type)
    if config.backend == "vllm":
        from rm.vllm_backend import VllmScorer

        del model
        vs = VllmScorer(run_dir / "checkpoint", max_length, tok)
        return vs.score_examples
    return lambda exs: score_encoded(model, encode(tok, exs, max_length), tok.pad_token_id, config.batch_size, bf16)


def score(
    lake: Any,
    run_dir: str | Path,
    table: str = "pairs",
    pair_ids: list[str] | None = None,
    config: ScoreConfig | None = None,
    progress: bool = False,
) -> ScoreReport:
    """Score ``table`` with the run in ``run_dir``: the pairs this run has not scored, then the columns."""
    from lake.snapshot import open_snapshot

    config = config or ScoreConfig(run=Path(run_dir), table=table)
    run_dir = Path(run_dir)
    run_id = run_id_of(run_dir)
    snap = open_snapshot(lake, table, config.at)
    done = scored_ids(lake, run_id)
    scorer = make_scorer(config, run_dir)
    wanted = set(pair_ids) if pair_ids is not None else None
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(wanted) if wanted is not None else snap.count(), initial=0, unit="pair", desc="score")
    version, n_scored = lake.version("rm_scores") or 0, 0
    for chunk in _chunks(snap, done, wanted, config.chunk_rows):
        rc, rr = scorer(chunk)
        n_scored += len(chunk)
        with lake.transaction(f"rm scores {run_id}: {len(chunk)} pairs of {snap.ref}") as txn:
            version = txn.append("rm_scores", score_rows(run_id, chunk, rc, rr))
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    if config.write_columns:
        version = write_columns(lake, table, run_id)
    return ScoreReport(run_id, table, n_scored, int(config.write_columns), version)


def write_columns(lake: Any, table: str, run_id: str) -> int:
    """Add (or replace) the run's score columns on ``table`` from ``rm_scores``; new version."""
    columns = score_columns(lake.dataset("rm_scores"), run_id)
    with lake.transaction(f"rm score columns {column_prefix(run_id)}* on {table}") as txn:
        return merge_score_columns(txn, table, run_id, columns)


def score_columns(scores: Any, run_id: str) -> Any:
    """The ``rm_<run>_*`` columns keyed by pair_id, from an ``rm_scores`` dataset (latest row per pair)."""
    import pyarrow as pa

    prefix = column_prefix(run_id)
    rows = scores.to_table(columns=["pair_id", *SCORE_FIELDS], filter=f"run_id = {sql_string(run_id)}")
    # a re-scored pair has several rows: keep the latest one per pair
    rows = rows.group_by("pair_id", use_threads=False).aggregate([(f, "last") for f in SCORE_FIELDS])
    return pa.table({"pair_id": rows["pair_id"], **{prefix + f: rows[f + "_last"] for f in SCORE_FIELDS}})


def merge_score_columns(txn: Any, table: str, run_id: str, columns: Any) -> int:
    """Inside ``txn``: replace the run's columns on ``table`` by ``columns`` (a Lance merge); new version."""
    import lance
    import pyarrow.compute as pc

    prefix = column_prefix(run_id)
    path = str(txn.track(table))
    ds = lance.dataset(path)
    old = [c for c in ds.schema.names if c.startswith(prefix)]
    if old:
        ds.drop_columns(old)
        ds = lance.dataset(path)
    ids = ds.to_table(columns=["pair_id"])["pair_id"]
    ds.merge(columns.filter(pc.is_in(columns["pair_id"], ids)), left_on="pair_id")
    return txn.record(table)
