"""Annotation: LLM preference attributes, LLM judges with a gate on gold, and pre-checks.

Every LLM call goes through a backend of :mod:`pipelines.annotate.llm` and the call cache,
so runs are resumable; every prompt is a versioned template file.

Its names load their modules on first use (:mod:`lake.lazy`). A function named as its module
(``precheck``) is imported from that module: a package attribute of that name is the submodule
once anything imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lake.lazy import lazy_names

if TYPE_CHECKING:
    from pipelines.annotate.attributes import annotate_attributes
    from pipelines.annotate.config import AttributesConfig, GateConfig, JudgeConfig, PrecheckConfig
    from pipelines.annotate.gate import measure, trusted_models
    from pipelines.annotate.judge import merge_votes
    from pipelines.annotate.judge_run import judge_queue
    from pipelines.annotate.llm import ChatBackend, LLMConfig, make_backend

__all__ = [
    "AttributesConfig",
    "ChatBackend",
    "GateConfig",
    "JudgeConfig",
    "LLMConfig",
    "PrecheckConfig",
    "annotate_attributes",
    "judge_queue",
    "make_backend",
    "measure",
    "merge_votes",
    "trusted_models",
]

__getattr__ = lazy_names(
    __name__,
    {
        "AttributesConfig": "config",
        "annotate_attributes": "attributes",
        "GateConfig": "config",
        "measure": "gate",
        "trusted_models": "gate",
        "JudgeConfig": "config",
        "merge_votes": "judge",
        "judge_queue": "judge_run",
        "ChatBackend": "llm",
        "LLMConfig": "llm",
        "make_backend": "llm",
        "PrecheckConfig": "config",
    },
)
