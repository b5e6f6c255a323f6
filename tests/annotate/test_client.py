"""The real OpenAI-compatible client against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import threading

from fake_openai import FakeOpenAI, attributes_answer

from pipelines.annotate.attributes import AttributesConfig, annotate_attributes
from pipelines.annotate.cache import CallCache
from pipelines.annotate.calls import Call, run_calls
from pipelines.annotate.llm import ChatRequest, LLMConfig, make_backend
from pipelines.annotate.taxonomy import ATTRIBUTES_SCHEMA


def _backend(url: str, **kw):
    return make_backend(LLMConfig(base_url=url, backoff_s=0.01, **kw))


def _calls(n: int) -> list[Call]:
    req = ChatRequest([{"role": "user", "content": "q"}], schema=ATTRIBUTES_SCHEMA)
    return [Call(f"p{i}", "attributes", "attributes.v1", req) for i in range(n)]


def test_retries_on_500_then_succeeds(tmp_path):
    seen: dict[str, int] = {}

    def respond(body):
        n = seen.setdefault("n", 0)
        seen["n"] = n + 1
        return (500, "boom", 0.0) if n < 2 else (200, attributes_answer(), 0.0)

    with FakeOpenAI(respond) as fake:
        [out] = run_calls(_backend(fake.base_url), CallCache(tmp_path / "c.sqlite"), _calls(1), ATTRIBUTES_SCHEMA)
        assert out.value is not None and out.value["objectivity"] == "objective"
        assert len(fake.requests) == 3  # two 500s, then the answer


def test_timeout_is_retried_and_gives_up_with_the_reason(tmp_path):
    with FakeOpenAI(lambda body: (200, attributes_answer(), 1.0)) as fake:
        backend = _backend(fake.base_url, timeout_s=0.2, max_retries=2)
        [out] = run_calls(backend, CallCache(tmp_path / "c.sqlite"), _calls(1), ATTRIBUTES_SCHEMA)
        assert out.value is None and "gave up after 3 attempts" in out.error and "Timeout" in out.error
        assert len(fake.requests) == 3


def test_bad_request_is_not_retried(tmp_path):
    with FakeOpenAI(lambda body: (400, "bad model", 0.0)) as fake:
        [out] = run_calls(_backend(fake.base_url), CallCache(tmp_path / "c.sqlite"), _calls(1), ATTRIBUTES_SCHEMA)
        assert out.value is None and "HTTP 400" in out.error
        assert len(fake.requests) == 1


def test_concurrency_bound_and_cache_hits(tmp_path):
    with FakeOpenAI(lambda body: (200, attributes_answer(), 0.05)) as fake:
        cache = CallCache(tmp_path / "c.sqlite")
        outs = run_calls(_backend(fake.base_url, concurrency=3), cache, _calls(12), ATTRIBUTES_SCHEMA)
        assert all(o.value is not None for o in outs)
        assert fake.max_in_flight == 3  # bounded, and actually concurrent
        again = run_calls(_backend(fake.base_url, concurrency=3), cache, _calls(12), ATTRIBUTES_SCHEMA)
        assert len(fake.requests) == 12  # the re-run is served from the cache
        assert [o.value for o in again] == [o.value for o in outs] and all(o.n_paid == 0 for o in again)


def test_env_variables_name_the_endpoint_and_key(monkeypatch):
    keys = []

    class Recording(FakeOpenAI):
        pass

    with Recording(lambda body: (200, "{}", 0.0)) as fake:
        orig = fake.server.RequestHandlerClass.do_GET

        def do_get(handler):
            keys.append(handler.headers["Authorization"])
            orig(handler)

        fake.server.RequestHandlerClass.do_GET = do_get
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        backend = make_backend(LLMConfig())
        assert backend.model == "fake-judge" and keys == ["Bearer sk-test"]


def test_malformed_json_is_retried_then_recorded_failed_with_raw_text(small_lake):
    lock = threading.Lock()
    asked: dict[str, int] = {}

    def respond(body):
        prompt = body["messages"][-1]["content"]
        with lock:
            asked[prompt] = asked.get(prompt, 0) + 1
        if "What is 0 + 0?" in prompt:  # this pair always answers garbage
            return 200, "Sure! The category is math {not json", 0.0
        if "What is 1 + 1?" in prompt:  # valid JSON, but a value outside the taxonomy
            return 200, json.dumps({**json.loads(attributes_answer()), "task_category": "cooking"}), 0.0
        return 200, attributes_answer(), 0.0

    with FakeOpenAI(respond) as fake:
        backend = _backend(fake.base_url)
        report = annotate_attributes(small_lake, backend, AttributesConfig(max_invalid_retries=2))
        assert report.n_ok == 4 and report.n_failed == 2
        rows = {
            r["raw_output"][:10]: r
            for r in small_lake.dataset("attributes").to_table().to_pylist()
            if r["status"] == "failed"
        }
        garbage = rows["Sure! The "]
        assert garbage["task_category"] is None and "no JSON object" in garbage["error"]
        assert garbage["raw_output"] == "Sure! The category is math {not json"
        assert any("schema violation" in r["error"] and "cooking" in r["error"] for r in rows.values())
        assert sorted(asked.values()) == [1, 1, 1, 1, 3, 3]  # each invalid answer asked 3 times
        temps = [b["temperature"] for b in fake.requests if "0 + 0" in b["messages"][-1]["content"]]
        assert temps == [0.0, 0.7, 0.7]  # retries sample, so a deterministic model can change its answer


def test_the_model_is_the_given_one_else_prefhouse_judge_model_else_the_endpoints_first(monkeypatch, tmp_path):
    with FakeOpenAI(lambda body: (200, attributes_answer(), 0.0), model="served") as server:
        monkeypatch.delenv("PREFHOUSE_JUDGE_MODEL", raising=False)
        assert _backend(server.base_url).model == "served"
        monkeypatch.setenv("PREFHOUSE_JUDGE_MODEL", "from-env")
        assert _backend(server.base_url).model == "from-env"
        assert _backend(server.base_url, model="given").model == "given"
        backend = _backend(server.base_url)
        run_calls(backend, CallCache(tmp_path / "c.sqlite"), _calls(1), ATTRIBUTES_SCHEMA)
        assert server.requests[-1]["model"] == "from-env"  # what the requests name
