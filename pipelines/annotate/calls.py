"""Run keyed LLM calls through the cache, validating JSON answers and retrying invalid ones.

A :class:`Call` is one logical question (pair, sample, order). Attempt 0 is asked first;
an answer that is not valid JSON under the schema is asked again (a new variant with a
new seed and some temperature, so a deterministic model can answer differently), up to
``max_invalid_retries``; after that the call is a failure that keeps the raw text.
Nothing is guessed from an invalid answer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any

import jsonschema
from tqdm import tqdm

from pipelines.annotate.cache import Cache, call_key
from pipelines.annotate.llm.base import ChatBackend, ChatRequest, ChatResult

log = logging.getLogger(__name__)
RETRY_TEMPERATURE = 0.7


@dataclass
class Call:
    pair_id: str
    variant: str  # e.g. "s0/chosen-first": sample and order, unique per pair within a stage
    template_version: str
    request: ChatRequest
    meta: dict[str, Any] = field(default_factory=dict)  # what the stage needs back (order, sample, ...)


@dataclass
class Outcome:
    call: Call
    value: dict[str, Any] | None  # the parsed, valid answer
    raw: str | None  # the last raw text (kept for failures)
    error: str | None
    attempts: int
    n_paid: int  # calls that went to the backend (not served by the cache)


def parse_json(text: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The answer as a dict valid under ``schema``; ValueError says why not."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise ValueError("no JSON object in the output")
    try:
        value = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc}") from exc
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        raise ValueError(f"schema violation: {exc.message}") from exc
    return value


def _attempt_request(call: Call, attempt: int) -> ChatRequest:
    if attempt == 0:
        return call.request
    s = call.request.sampling
    seed = None if s.seed is None else s.seed + 1000 * attempt
    return replace(call.request, sampling=replace(s, seed=seed, temperature=max(s.temperature, RETRY_TEMPERATURE)))


def run_calls(
    backend: ChatBackend,
    cache: Cache,
    calls: list[Call],
    schema: dict[str, Any],
    max_invalid_retries: int = 2,
    desc: str = "llm",
) -> list[Outcome]:
    """Answer every call (cache first), in rounds of attempts; returns outcomes in input order."""
    outcomes: list[Outcome | None] = [None] * len(calls)
    paid = [0] * len(calls)
    pending = list(range(len(calls)))
    with tqdm(total=len(calls), desc=desc, unit="call", disable=None) as bar:
        for attempt in range(max_invalid_retries + 1):
            results = _answer(backend, cache, calls, pending, attempt, paid)
            still = []
            for i in pending:
                res = results[i]
                if res.text is None:  # the transport gave up: not cached, retried on the next run
                    outcomes[i] = Outcome(calls[i], None, None, res.error, attempt + 1, paid[i])
                    bar.update()
                    continue
                try:
                    value = parse_json(res.text, schema)
                    outcomes[i] = Outcome(calls[i], value, res.text, None, attempt + 1, paid[i])
                    bar.update()
                except ValueError as exc:
                    outcomes[i] = Outcome(calls[i], None, res.text, str(exc), attempt + 1, paid[i])
                    still.append(i)
            pending = still
            if not pending:
                break
        bar.update(len(pending))
    return [o for o in outcomes if o is not None]


def _answer(
    backend: ChatBackend, cache: Cache, calls: list[Call], idx: list[int], attempt: int, paid: list[int]
) -> dict[int, ChatResult]:
    results: dict[int, ChatResult] = {}
    asked: list[tuple[int, str, ChatRequest]] = []
    for i in idx:
        call = calls[i]
        req = _attempt_request(call, attempt)
        key = call_key(
            call.template_version, backend.model, req.sampling.key(), call.pair_id, f"{call.variant}/a{attempt}"
        )
        asked.append((i, key, req))
    hits = cache.get_many([key for _, key, _ in asked])
    missing = [m for m in asked if m[1] not in hits]
    for i, key, _ in asked:
        if key in hits:
            results[i] = ChatResult(text=hits[key], attempts=0)

    def store(j: int, res: ChatResult) -> None:
        i, key, req = missing[j]
        paid[i] += 1
        results[i] = res
        if res.text is not None:
            call = calls[i]
            cache.put(
                key,
                res.text,
                template_version=call.template_version,
                model=backend.model,
                sampling=req.sampling.key(),
                pair_id=call.pair_id,
                variant=f"{call.variant}/a{attempt}",
            )

    if missing:
        log.info("%d cached, %d to ask %s (attempt %d)", len(idx) - len(missing), len(missing), backend.model, attempt)
        backend.complete_many([m[2] for m in missing], store)
    return results
