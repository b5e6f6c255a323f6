"""Scale-out: per-pair stages as Ray Data jobs over a lake table's Lance fragments (the ``ray`` extra).

One primitive (:func:`map_table`) and the stages on it: reward-model scoring (:func:`score_ray`),
embeddings (``pipelines.scale.embed.embed_ray``) and the LLM stages, attributes, pre-checks and
judge votes (:class:`RayRunner`, the runner those stages take). Each job reads the version of
the lake commit it started from and lands as one lake commit. Ray is imported only when a job runs. See docs/scale.md.

Its names load their modules on first use (:mod:`lake.lazy`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lake.lazy import lazy_names

if TYPE_CHECKING:
    from pipelines.scale.cluster import EngineConfig, ray_cluster
    from pipelines.scale.job import Results, Stage, map_table
    from pipelines.scale.llm import CallWorker, RayRunner
    from pipelines.scale.score import RewardScorer, score_ray

__all__ = [
    "CallWorker",
    "EngineConfig",
    "RayRunner",
    "Results",
    "RewardScorer",
    "Stage",
    "map_table",
    "ray_cluster",
    "score_ray",
]

__getattr__ = lazy_names(
    __name__,
    {
        "EngineConfig": "cluster",
        "ray_cluster": "cluster",
        "Results": "job",
        "Stage": "job",
        "map_table": "job",
        "CallWorker": "llm",
        "RayRunner": "llm",
        "RewardScorer": "score",
        "score_ray": "score",
    },
)
