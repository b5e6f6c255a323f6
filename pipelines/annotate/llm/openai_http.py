"""An async client for OpenAI-compatible chat completions (vllm serve, llama.cpp, hosted APIs).

Bounded concurrency (a semaphore), a timeout per request, and retries with exponential
backoff and jitter on the failures that are worth retrying: HTTP 429 and 5xx, timeouts,
connection errors and unreadable bodies. Other 4xx answers (a bad request, a wrong key)
fail at once: retrying them only spends money.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import httpx

from pipelines.annotate.llm.base import ChatRequest, ChatResult, LLMConfig, OnResult

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 30.0


class RetryableError(Exception):
    """A failure worth another try."""


class OpenAIHttpBackend:
    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self.base_url = config.resolved_base_url()
        self.headers = {"Authorization": f"Bearer {config.resolved_api_key()}"}
        self.model = config.resolved_model() or self._first_model()

    def _first_model(self) -> str:
        """The endpoint's first model, so a one-model server needs no --model."""
        try:
            resp = httpx.get(f"{self.base_url}/models", headers=self.headers, timeout=self.config.timeout_s)
            resp.raise_for_status()
            return str(resp.json()["data"][0]["id"])
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"could not list the models of {self.base_url} ({exc}): pass --model NAME, "
                "or check that the server is up"
            ) from exc

    def payload(self, request: ChatRequest) -> dict[str, Any]:
        s = request.sampling
        body: dict[str, Any] = {
            "model": self.model,
            "messages": request.messages,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
        }
        if s.seed is not None:
            body["seed"] = s.seed
        if request.schema is not None and self.config.json_mode == "json_object":
            body["response_format"] = {"type": "json_object", "schema": request.schema}
        elif request.schema is not None and self.config.json_mode == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": request.schema, "strict": True},
            }
        return body

    async def _once(self, client: httpx.AsyncClient, body: dict[str, Any]) -> str:
        try:
            resp = await client.post(f"{self.base_url}/chat/completions", json=body)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise RetryableError(f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code == 429 or resp.status_code >= 500:
            raise RetryableError(f"HTTP {resp.status_code}: {resp.text[:200]}")
        if resp.status_code >= 400:
            raise ValueError(f"HTTP {resp.status_code}: {resp.text[:500]}")
        try:
            return str(resp.json()["choices"][0]["message"]["content"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise RetryableError(f"unreadable response body: {resp.text[:200]}") from exc

    async def _call(self, client: httpx.AsyncClient, sem: asyncio.Semaphore, request: ChatRequest) -> ChatResult:
        body = self.payload(request)
        last = ""
        for attempt in range(self.config.max_retries + 1):
            if attempt:
                delay = min(MAX_BACKOFF_S, self.config.backoff_s * 2 ** (attempt - 1))
                await asyncio.sleep(delay * (0.5 + random.random() / 2))  # jitter: no thundering herd
            async with sem:
                try:
                    return ChatResult(text=await self._once(client, body), attempts=attempt + 1)
                except RetryableError as exc:
                    last = str(exc)
                    log.debug("attempt %d failed: %s", attempt + 1, last)
                except ValueError as exc:
                    return ChatResult(text=None, error=str(exc), attempts=attempt + 1)
        return ChatResult(
            text=None,
            error=f"gave up after {self.config.max_retries + 1} attempts: {last}",
            attempts=self.config.max_retries + 1,
        )

    async def _run(self, requests: list[ChatRequest], on_result: OnResult) -> None:
        sem = asyncio.Semaphore(max(1, self.config.concurrency))
        limits = httpx.Limits(max_connections=max(1, self.config.concurrency))
        async with httpx.AsyncClient(headers=self.headers, timeout=self.config.timeout_s, limits=limits) as client:

            async def one(i: int, req: ChatRequest) -> None:
                on_result(i, await self._call(client, sem, req))

            await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))

    def complete_many(self, requests: list[ChatRequest], on_result: OnResult) -> None:
        if requests:
            asyncio.run(self._run(requests, on_result))

    def close(self) -> None:
        """Nothing held between batches (each batch opens its own connection pool)."""
