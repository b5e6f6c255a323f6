"""The environment every prefhouse process runs with: offline, no telemetry, quiet logs.

One definition, applied (as defaults: a variable already set wins) by the command line, the
tests, the benchmarks and the modules that load a model or a library that would phone home.
"""

from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",  # model weights come from installed packages or local folders only
    "TRANSFORMERS_OFFLINE": "1",
    "DO_NOT_TRACK": "1",  # dbt and others: no usage statistics
    "GX_ANALYTICS_ENABLED": "False",  # Great Expectations
    "VLLM_NO_USAGE_STATS": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
    "LANCEDB_LOG": "error",  # read when lancedb is imported
    "TOKENIZERS_PARALLELISM": "false",  # no fork warnings from the Rust tokenizers
}


def use_offline_env() -> None:
    """Set each of :data:`OFFLINE_ENV` unless the variable is already set."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
