"""Fixtures for the labelling app: a lake with a small human queue and a running server."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime

import httpx
import pyarrow as pa
import pytest

from lake.records import pair_row, pairs_table
from lake.schemas import ATTRIBUTES, PRECHECKS, RETRIEVAL_QUEUE


def _attrs(pid: str, objectivity: str, controversiality: str) -> dict:
    return {
        "pair_id": pid,
        "status": "ok",
        "task_category": "factual_qa",
        "objectivity": objectivity,
        "controversiality": controversiality,
        "desired_attributes": ["correct"],
        "guideline": f"GUIDE-{pid[:6]}",
        "raw_output": None,
        "error": None,
        "model": "m",
        "template_version": "attributes.v1",
        "annotated_at": datetime.now(UTC),
    }


@pytest.fixture
def queued_lake(lake):
    """Four pairs queued for humans in round 2: subjective/high, objective/medium, objective/low, subjective/low."""
    rows = [pair_row(f"question {i}?", f"CHOSEN answer {i}", f"REJECTED answer {i}", source_row=i) for i in range(5)]
    lake.append("pairs", pairs_table(rows))
    kinds = [("subjective", "high"), ("objective", "medium"), ("objective", "low"), ("subjective", "low")]
    with lake.transaction("seed") as txn:
        txn.append(
            "attributes",
            pa.Table.from_pylist(
                [_attrs(r["pair_id"], *k) for r, k in zip(rows, kinds, strict=False)], schema=ATTRIBUTES
            ),
        )
        now = datetime.now(UTC)
        queue = [
            {
                "round": 2,
                "pair_id": r["pair_id"],
                "anchors": [],
                "best_similarity": 0.5,
                "route": "human",
                "queued_at": now,
            }
            for r in rows[:4]
        ]
        queue.append(
            {
                "round": 2,
                "pair_id": rows[4]["pair_id"],
                "anchors": [],
                "best_similarity": 0.5,
                "route": "judge",
                "queued_at": now,
            }
        )
        txn.append("retrieval_queue", pa.Table.from_pylist(queue, schema=RETRIEVAL_QUEUE))
        txn.append(
            "prechecks",
            pa.Table.from_pylist(
                [
                    {
                        "pair_id": rows[2]["pair_id"],
                        "side": "chosen",
                        "is_correct": True,
                        "rationale": "PRECHECK-OK",
                        "model": "m",
                        "template_version": "precheck.v1",
                        "checked_at": now,
                    }
                ],
                schema=PRECHECKS,
            ),
        )
    lake.rows = rows
    return lake


@pytest.fixture
def serve():
    """Start LabelApp servers on 127.0.0.1 (any free port); each is stopped after the test. Returns the base URL."""
    from pipelines.labelapp.server import LabelApp

    servers = []

    def start(lake, **kwargs) -> str:
        token = kwargs.pop("token", None)
        app = LabelApp(lake, token=token, **kwargs)
        server = app.make_server("127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def app_server(queued_lake, serve):
    yield serve(queued_lake), queued_lake


def csrf_of(url: str, headers: dict | None = None) -> str:
    """The anti-forgery token the app's page carries, read the way the page's script reads it."""
    page = httpx.get(f"{url}/", headers=headers).text
    found = re.search(r'<meta name="prefhouse-csrf" content="([^"]+)">', page)
    return found.group(1) if found else ""  # none: the server refuses every label, as it should


class PageClient:
    """Posts labels the way the app's own page does: same Origin, JSON, the page's anti-forgery token."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}
        self.csrf = csrf_of(url)
        self.headers = {"Origin": url, "X-Prefhouse-CSRF": self.csrf, **self.auth}

    def next(self, annotator: str) -> httpx.Response:
        return httpx.get(f"{self.url}/api/next", params={"annotator": annotator}, headers=self.auth, timeout=60)

    def label(self, body, **headers) -> httpx.Response:
        return httpx.post(f"{self.url}/api/label", json=body, headers={**self.headers, **headers}, timeout=60)


@pytest.fixture
def client(app_server) -> PageClient:
    return PageClient(app_server[0])


@pytest.fixture
def page_client() -> type[PageClient]:
    """The PageClient class, for servers a test starts itself."""
    return PageClient
