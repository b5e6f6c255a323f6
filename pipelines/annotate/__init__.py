"""Annotation: LLM preference attributes, LLM judges with a gate on gold, and pre-checks.

Every LLM call goes through a backend of :mod:`pipelines.annotate.llm` and the call cache,
so runs are resumable; every prompt is a versioned template file.
"""

from pipelines.annotate.attributes import AttributesConfig, annotate_attributes
from pipelines.annotate.gate import GateConfig, measure, trusted_models
from pipelines.annotate.judge import JudgeConfig, merge_votes
from pipelines.annotate.judge_run import judge_queue
from pipelines.annotate.llm import ChatBackend, LLMConfig, make_backend
from pipelines.annotate.precheck import PrecheckConfig, precheck

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
    "precheck",
    "trusted_models",
]
