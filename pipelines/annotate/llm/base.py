"""The one small interface every LLM backend implements, and its config.

A backend takes a batch of chat requests and reports each result through a callback as
soon as it arrives, so the caller can cache it at once: a run killed midway keeps every
answer it already paid for.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class Sampling:
    """Sampling parameters; part of every cache key."""

    temperature: float = 0.0
    max_tokens: int = 512
    top_p: float = 1.0
    seed: int | None = 0

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass
class ChatRequest:
    messages: list[dict[str, str]]
    sampling: Sampling = field(default_factory=Sampling)
    schema: dict[str, Any] | None = None  # ask the server to constrain output to this JSON schema


@dataclass
class ChatResult:
    text: str | None  # the assistant message, or None when every attempt failed
    error: str | None = None  # why the call failed (last error), when text is None
    attempts: int = 1


OnResult = Callable[[int, ChatResult], None]


class ChatBackend(Protocol):
    """Runs chat requests; ``model`` names the model in cache keys and lake rows."""

    model: str

    def complete_many(self, requests: list[ChatRequest], on_result: OnResult) -> None:
        """Run every request; call ``on_result(index, result)`` for each as it finishes."""
        ...

    def close(self) -> None: ...


MODEL_ENV = "PREFHOUSE_JUDGE_MODEL"  # the LLM's model when none is given, for every command and round


@dataclass
class LLMConfig:
    """Where the LLM is and how to call it."""

    backend: Literal["openai", "vllm"] = field(
        default="openai",
        metadata={"help": "openai: any OpenAI-compatible HTTP endpoint; vllm: offline vllm.LLM (gpu extra)"},
    )
    base_url: str | None = field(
        default=None,
        metadata={"help": "endpoint base URL, e.g. http://127.0.0.1:8000/v1 (default: $OPENAI_BASE_URL)"},
    )
    model: str | None = field(
        default=None,
        metadata={
            "help": "model name (openai: default $PREFHOUSE_JUDGE_MODEL, else the endpoint's first model; "
            "vllm: a local model path)"
        },
    )
    api_key: str | None = field(default=None, metadata={"help": "API key (default: $OPENAI_API_KEY)"})
    concurrency: int = field(default=8, metadata={"help": "requests in flight at once"})
    max_retries: int = field(default=4, metadata={"help": "retries on 5xx, 429, timeouts and connection errors"})
    timeout_s: float = field(default=120.0, metadata={"help": "per-request timeout in seconds"})
    backoff_s: float = field(default=1.0, metadata={"help": "first retry delay; doubles each retry (capped at 30 s)"})
    json_mode: Literal["json_object", "json_schema", "none"] = field(
        default="json_object",
        metadata={
            "help": "how to ask for JSON: json_object (+schema, llama.cpp), json_schema (vllm serve, OpenAI), none"
        },
    )

    def resolved_base_url(self) -> str:
        url = self.base_url or os.environ.get("OPENAI_BASE_URL")
        if not url:
            raise ValueError(
                "no LLM endpoint: pass --base-url URL or set OPENAI_BASE_URL "
                "(e.g. http://127.0.0.1:8000/v1 for `vllm serve` or `python -m llama_cpp.server`)"
            )
        return url.rstrip("/")

    def resolved_model(self) -> str | None:
        """``model``, else ``$PREFHOUSE_JUDGE_MODEL``; None: the endpoint's first model."""
        return self.model or os.environ.get(MODEL_ENV) or None

    def resolved_api_key(self) -> str:
        return self.api_key or os.environ.get("OPENAI_API_KEY") or "none"


def make_backend(config: LLMConfig) -> ChatBackend:
    """The backend ``config`` names (vllm is imported only here, only when asked for)."""
    if config.backend == "vllm":
        from pipelines.annotate.llm.vllm_offline import VllmOfflineBackend

        return VllmOfflineBackend(config)
    from pipelines.annotate.llm.openai_http import OpenAIHttpBackend

    return OpenAIHttpBackend(config)


def parse_judge(spec: str) -> LLMConfig:
    """One judge of a round: ``MODEL=URL`` (an OpenAI-compatible endpoint serving MODEL), ``URL``
    (the endpoint's first model) or ``vllm:PATH`` (offline vLLM on a local model folder, gpu extra)."""
    spec = spec.strip()
    if spec.startswith("vllm:"):
        path = spec.removeprefix("vllm:")
        if not path:
            raise ValueError(f"judge {spec!r}: give vllm:PATH, the local model folder")
        return LLMConfig(backend="vllm", model=path)
    import re

    m = re.fullmatch(r"(?:(?P<model>.+?)=)?(?P<url>https?://\S+)", spec)
    if m is None:
        raise ValueError(f"judge {spec!r}: give MODEL=URL, URL (http://...) or vllm:PATH")
    return LLMConfig(base_url=m["url"], model=m["model"])
