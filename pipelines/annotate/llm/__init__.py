"""LLM backends behind one interface: an OpenAI-compatible HTTP client and offline vllm."""

from pipelines.annotate.llm.base import ChatBackend, ChatRequest, ChatResult, LLMConfig, Sampling, make_backend

__all__ = ["ChatBackend", "ChatRequest", "ChatResult", "LLMConfig", "Sampling", "make_backend"]
