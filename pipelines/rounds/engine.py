"""Where a round's per-pair stages run: its :class:`~pipelines.scale.EngineConfig` (``--engine``).

``local`` runs every stage in this process. ``ray`` runs the per-pair ones as Ray Data jobs, as their
own commands' ``--engine ray`` does: the LLM stages (attributes, pre-check, judge votes) through
:class:`~pipelines.scale.RayRunner`, embeddings through ``embed_ray`` and the pool's scoring through
``score_ray``, each landing as one lake commit. One cluster serves the whole round
(:func:`engine_session`: ``--ray-address``'s, or a local one on loopback started for the round).
Steps over a few hundred pairs (gold scoring, the judge gate, near-duplicates, training) stay local.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.annotate.callwork import CallRunner
    from pipelines.retrieval.vectors import SyncReport
    from pipelines.rounds.step import RoundContext
    from pipelines.scale.cluster import EngineConfig
    from rm.config import ScoreConfig
    from rm.score import ScoreReport


def on_ray(ctx: RoundContext) -> bool:
    return ctx.config.engine.engine == "ray"


@contextlib.contextmanager
def engine_session(engine: EngineConfig) -> Iterator[None]:
    """The round's Ray cluster, held while its steps run (nothing for the local engine)."""
    if engine.engine != "ray":
        yield
        return
    from pipelines.scale.cluster import ray_cluster

    with ray_cluster(engine):
        yield


def call_runner(ctx: RoundContext) -> CallRunner:
    """Where an LLM stage's calls are asked."""
    if not on_ray(ctx):
        from pipelines.annotate.callwork import run_local

        return run_local
    from pipelines.scale import RayRunner

    return RayRunner(ctx.config.engine)


def embed(ctx: RoundContext) -> SyncReport:
    """Bring ``embeddings`` up to date with the pairs (and their attributes)."""
    if not on_ray(ctx):
        from pipelines.retrieval import embed_pairs

        return embed_pairs(ctx.lake)
    from pipelines.scale.embed import embed_ray

    return embed_ray(ctx.lake, engine=ctx.config.engine)


def score_table(ctx: RoundContext, run_dir: str | Path, config: ScoreConfig) -> ScoreReport:
    """Score ``config.table`` (every pair the run has not scored) with the run in ``run_dir``."""
    if not on_ray(ctx):
        from rm.score import score

        return score(ctx.lake, run_dir, config.table, config=config, progress=True)
    from pipelines.scale import score_ray

    return score_ray(ctx.lake, run_dir, config, ctx.config.engine)
