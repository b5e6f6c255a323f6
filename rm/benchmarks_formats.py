"""Benchmark files as items the evaluator scores: kept for imports, the readers are in the layout registry.

Every layout (RewardBench v1 and 2, RM-Bench, JudgeBench, RMB pairwise and best-of-N, PPE,
LLMBar, EvalBiasBench, best-of-N sets and ingest's pair formats) is detected and parsed by
:mod:`pipelines.ingest.registry`, which ``prefhouse ingest --as-benchmark`` reads too.
"""

from __future__ import annotations

from pipelines.ingest.registry import BENCHMARK_LAYOUTS, BenchItem, bench_files, iter_items, read_bench

__all__ = ["BENCHMARK_LAYOUTS", "BenchItem", "bench_files", "iter_items", "read_bench"]
