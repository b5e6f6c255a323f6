"""A small OpenAI-compatible chat server for tests: the peer of the real client under test.

It speaks ``GET /v1/models`` and ``POST /v1/chat/completions`` over real HTTP on 127.0.0.1,
counts every request and the most requests in flight at once, and answers through a
``respond(body) -> (status, text, delay_s)`` function the test gives it, so a test can
make it fail with 500, stall past the client's timeout, or answer malformed JSON.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Respond = Callable[[dict[str, Any]], tuple[int, str, float]]


class FakeOpenAI:
    def __init__(self, respond: Respond, model: str = "fake-judge") -> None:
        self.respond = respond
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, payload: str) -> None:
                data = payload.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                # the client may have given up (timeout): expected in timeout tests
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def do_GET(self) -> None:
                self._send(200, json.dumps({"object": "list", "data": [{"id": fake.model, "object": "model"}]}))

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake._lock:
                    fake.requests.append(body)
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                try:
                    status, text, delay = fake.respond(body)
                    time.sleep(delay)
                finally:
                    with fake._lock:
                        fake.in_flight -= 1
                if status != 200:
                    self._send(status, json.dumps({"error": {"message": text}}))
                    return
                choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                self._send(
                    200,
                    json.dumps({"id": "x", "object": "chat.completion", "model": body["model"], "choices": [choice]}),
                )

        return Handler


def user_text(body: dict[str, Any]) -> str:
    return body["messages"][-1]["content"]


def oracle_judge(marker: str = "GOOD", first_always: bool = False) -> Respond:
    """A judge that prefers the target candidate containing ``marker`` (or always says "1")."""

    def respond(body: dict[str, Any]) -> tuple[int, str, float]:
        text = user_text(body)
        target = text[text.rfind("<target>") :] if "<target>" in text else text
        if first_always:
            better = "1"
        else:
            c1 = re.search(r"<candidate_1>(.*?)</candidate_1>", target, re.S)
            better = "1" if c1 and marker in c1.group(1) else "2"
        return 200, json.dumps({"rationale": "compared the candidates", "better": better}), 0.0

    return respond


def lookup_judge(preferred: set[str], prefix: int = 200) -> Respond:
    """A judge that knows the answers: it prefers the target candidate whose text (its first ``prefix``
    characters) is in ``preferred``, and answers "2" when neither is."""

    def respond(body: dict[str, Any]) -> tuple[int, str, float]:
        text = user_text(body)
        target = text[text.rfind("<target>") :]
        c1 = re.search(r"<candidate_1>\s*(.*?)\s*</candidate_1>", target, re.S)
        better = "1" if c1 and c1.group(1)[:prefix] in preferred else "2"
        return 200, json.dumps({"rationale": "looked it up", "better": better}), 0.0

    return respond


def attributes_answer(objectivity: str = "objective", controversiality: str = "low") -> str:
    return json.dumps(
        {
            "task_category": "factual_qa",
            "objectivity": objectivity,
            "controversiality": controversiality,
            "desired_attributes": ["correct", "concise"],
            "guideline": "Prefer the correct answer.",
        }
    )


def main() -> None:
    """Serve attributes answers slowly (for the kill-and-resume test); prints the port, then counts."""
    delay = float(sys.argv[1])
    with FakeOpenAI(lambda body: (200, attributes_answer(), delay)) as fake:
        print(fake.server.server_address[1], flush=True)
        for line in sys.stdin:  # "count" asks how many requests were served
            if line.strip() == "count":
                print(len(fake.requests), flush=True)


if __name__ == "__main__":
    main()
