"""The labelling web app: a stdlib threaded HTTP server with a JSON API and static pages.

No framework and no CDN: the page, script and style ship in ``static/``. Each answer is
appended to ``human_labels`` before the reply goes out, so a stopped server loses nothing.
Bound to anything but loopback, it refuses to start without an access token.
"""

from __future__ import annotations

import hmac
import json
import logging
import mimetypes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from lake import Lake
from pipelines.annotate import data
from pipelines.labelapp import queue
from pipelines.labelapp.store import TOOLS, append_labels, label_row

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class LabelApp:
    """The app's state: the lake, the round its labels belong to, the optional token."""

    def __init__(self, lake: Lake, round: int | None = None, token: str | None = None) -> None:
        self.lake = lake
        self.queue_round = round
        self.round = round if round is not None else (data.latest_round(lake) or 0)
        self.token = token

    def next_item(self, annotator: str) -> dict[str, Any]:
        ids = queue.ordered_queue(self.lake, annotator, self.queue_round)
        if not ids:
            return {"done": True, "remaining": 0}
        return {**queue.item_for(self.lake, annotator, ids[0]), "remaining": len(ids), "round": self.round}

    def save(self, body: dict[str, Any]) -> dict[str, Any]:
        annotator, pair_id = str(body.get("annotator", "")), str(body.get("pair_id", ""))
        if not data.load_pairs(self.lake, [pair_id]):
            raise ValueError(f"unknown pair_id {pair_id!r}")
        verdict, first = queue.verdict_for(annotator, pair_id, str(body.get("answer")))
        tools = [t for t in body.get("tools") or [] if t in TOOLS]
        row = label_row(
            pair_id,
            annotator,
            verdict,
            round=self.round,
            is_chosen_shown_first=first,
            note=(body.get("note") or "").strip() or None,
            tools=tools,
        )
        version = append_labels(self.lake, [row], f"label: {annotator} on {pair_id[:8]}")
        return {"ok": True, "label_id": row["label_id"], "version": version}

    def make_server(self, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
        if host not in LOOPBACK and not self.token:
            raise ValueError(f"binding to {host} exposes the app beyond this machine: pass --token SECRET as well")
        server = ThreadingHTTPServer((host, port), _handler(self))
        server.daemon_threads = True
        return server


def _handler(app: LabelApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug(fmt, *args)

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            self._send(status, json.dumps(payload).encode())

        def _authorised(self) -> bool:
            if not app.token:
                return True
            given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            return hmac.compare_digest(given.encode(), app.token.encode())

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if not url.path.startswith("/api/"):
                return self._static(url.path)
            if not self._authorised():
                return self._json(401, {"error": "access token required"})
            args = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/api/next" and args.get("annotator", "").strip():
                return self._json(200, app.next_item(args["annotator"].strip()))
            if url.path == "/api/config":
                return self._json(200, {"round": app.round, "tools": list(TOOLS)})
            self._json(404, {"error": f"no route {url.path} (or missing ?annotator=)"})

        def do_POST(self) -> None:
            if not self._authorised():
                return self._json(401, {"error": "access token required"})
            if urlparse(self.path).path != "/api/label":
                return self._json(404, {"error": "no such route"})
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                self._json(200, app.save(body))
            except (ValueError, json.JSONDecodeError) as exc:
                self._json(400, {"error": str(exc)})

        def _static(self, path: str) -> None:
            name = "index.html" if path in ("/", "/index.html") else path.removeprefix("/static/")
            file = (STATIC / name).resolve()
            if file.parent != STATIC or not file.is_file():
                return self._send(404, b"not found", "text/plain")
            self._send(200, file.read_bytes(), mimetypes.guess_type(file.name)[0] or "application/octet-stream")

    return Handler
