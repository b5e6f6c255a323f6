"""The labelling web app: a stdlib threaded HTTP server with a JSON API and static pages.

No framework and no CDN: the page, script and style ship in ``static/``. Each answer is
appended to ``human_labels`` before the reply goes out, so a stopped server loses nothing.

What a label is, is gold, so a label is taken only from the app's own page:

- every request must carry a ``Host`` the app answers to (the bound host:port, and its
  loopback aliases when bound to loopback): other names get 421, so a DNS-rebinding page
  cannot read the queue;
- a ``POST`` must come from the app's own origin (``Origin`` equal to ``http://<Host>``, or,
  without ``Origin``, ``Sec-Fetch-Site: same-origin``), be ``application/json`` and carry
  the per-process anti-forgery token the page is served with (header ``X-Prefhouse-CSRF``);
- bodies and fields have size and type limits (the constants below); every refused request
  gets a 4xx JSON reply and a request that stalls times out, so the server keeps serving;
- bound to anything but loopback, it refuses to start without an access token, which the
  page sends as a bearer token on every API call.
"""

from __future__ import annotations

import contextlib
import hmac
import html
import ipaddress
import json
import logging
import re
import secrets
import socket
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lake import Lake
from pipelines.annotate import data
from pipelines.labelapp import queue
from pipelines.labelapp.store import TOOLS, append_labels, label_row

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARD = ("", "0.0.0.0", "::")
PAGES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/app.css": ("app.css", "text/css; charset=utf-8"),
}
CSRF_HEADER = "X-Prefhouse-CSRF"
CSRF_PLACEHOLDER = "__PREFHOUSE_CSRF__"
TOKEN_ENV = "PREFHOUSE_LABEL_TOKEN"
MIN_TOKEN_CHARS = 16

MAX_BODY_BYTES = 64 * 1024  # a label is a few hundred bytes; the note is the only long field
MAX_ANNOTATOR_CHARS = 100
MAX_PAIR_ID_CHARS = 64
MAX_NOTE_CHARS = 5000
MAX_TOOLS = 16
MAX_TOOL_CHARS = 40
ANSWERS = ("A", "B", "discard")
REQUEST_TIMEOUT_S = 10.0  # per socket read or write, and for a whole request body
LINGER_S = 2.0  # after refusing a body, read and drop what the client still sends, so it sees the reply
LINGER_MAX_BYTES = 32 * 1024 * 1024

PAIR_ID_RE = re.compile(r"[A-Za-z0-9_.:-]+")
DIGITS_RE = re.compile(r"[0-9]+")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
}


class Refused(Exception):
    """A request the app will not serve: the status and the message of its JSON reply."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_token(token: str | None) -> str | None:
    """The access token, if it is usable: long enough, printable ASCII, no spaces."""
    if token is None:
        return None
    if len(token) < MIN_TOKEN_CHARS or not token.isascii() or not token.isprintable() or " " in token:
        raise ValueError(
            f"the access token must be at least {MIN_TOKEN_CHARS} printable ASCII characters without spaces "
            '(make one with: python -c "import secrets; print(secrets.token_urlsafe(24))")'
        )
    return token


def split_host(value: str, default_port: int) -> tuple[str, int] | None:
    """``host[:port]`` or ``[v6][:port]`` as (lower-case host, port); None when malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port = rest[1:]
    elif value.count(":") > 1:
        return None  # an IPv6 address must be in brackets
    else:
        host, _, port = value.partition(":")
    if not host:
        return None
    if not port:
        return host, default_port
    if not DIGITS_RE.fullmatch(port) or len(port) > 5 or not 0 < int(port) < 65536:
        return None
    return host, int(port)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    """``host`` as it goes in a URL (IPv6 in brackets)."""
    return f"[{host}]" if ":" in host else host


class LabelApp:
    """The app's state: the lake, the round its labels belong to, the optional token, the CSRF secret."""

    def __init__(
        self,
        lake: Lake,
        round: int | None = None,
        token: str | None = None,
        *,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> None:
        self.lake = lake
        self.queue_round = round
        self.round = round if round is not None else (data.latest_round(lake) or 0)
        self.token = check_token(token)
        self.csrf = secrets.token_urlsafe(32)  # per process: a page from before a restart must be reloaded
        self.request_timeout_s = request_timeout_s
        queue.order_key(lake)  # make the order secret now, not on the first request

    def next_item(self, annotator: str) -> dict[str, Any]:
        ids = queue.ordered_queue(self.lake, annotator, self.queue_round)
        if not ids:
            return {"done": True, "remaining": 0}
        return {**queue.item_for(self.lake, annotator, ids[0]), "remaining": len(ids), "round": self.round}

    def save(self, body: Any) -> dict[str, Any]:
        label = parse_label(body)
        annotator, pair_id = label["annotator"], label["pair_id"]
        if not data.load_pairs(self.lake, [pair_id]):
            raise Refused(400, f"unknown pair_id {pair_id!r}")
        verdict, first = queue.verdict_for(self.lake, annotator, pair_id, label["answer"])
        row = label_row(
            pair_id,
            annotator,
            verdict,
            round=self.round,
            is_chosen_shown_first=first,
            note=label["note"],
            tools=label["tools"],
        )
        version = append_labels(self.lake, [row], f"label: {annotator} on {pair_id[:8]}")
        return {"ok": True, "label_id": row["label_id"], "version": version}

    def make_server(
        self, host: str = "127.0.0.1", port: int = 8765, allowed_hosts: Iterable[str] = ()
    ) -> ThreadingHTTPServer:
        """Bind; ``allowed_hosts`` are further names (``name`` or ``name:port``) the app answers to."""
        if not _is_loopback(host) and not self.token:
            raise ValueError(
                f"binding to {host or 'every interface'} exposes the app beyond this machine: "
                f"set an access token in ${TOKEN_ENV} or pass --token-file PATH"
            )
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_class = type("LabelServer", (ThreadingHTTPServer,), {"address_family": family, "daemon_threads": True})
        allowed: set[tuple[str, int]] = set()  # filled once the port is known (port 0: any free one)
        server = server_class((host, port), _handler(self, allowed))
        bound = server.server_address[1]
        names = {host.lower()}
        if _is_loopback(host) or host in WILDCARD:
            names |= set(LOOPBACK_NAMES)
        if host in WILDCARD:
            names |= {socket.gethostname().lower()}
        allowed |= {(n, bound) for n in names if n not in WILDCARD}
        for extra in allowed_hosts:
            parsed = split_host(extra, bound)
            if parsed is None:
                server.server_close()
                raise ValueError(f"--allowed-host {extra!r} is not a host name or host:port")
            allowed.add(parsed)
        return server


def _text(body: dict[str, Any], field: str, limit: int, *, required: bool) -> str:
    value = body.get(field)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise Refused(400, f"{field!r} must be a string")
    if len(value) > limit:
        raise Refused(400, f"{field!r} is longer than {limit} characters")
    return value


def check_annotator(value: Any) -> str:
    if not isinstance(value, str):
        raise Refused(400, "'annotator' must be a string")
    name = value.strip()
    if not name:
        raise Refused(400, "an annotator name is required")
    if len(name) > MAX_ANNOTATOR_CHARS:
        raise Refused(400, f"'annotator' is longer than {MAX_ANNOTATOR_CHARS} characters")
    if CONTROL_RE.search(name):
        raise Refused(400, "'annotator' must not contain control characters")
    return name


def parse_label(body: Any) -> dict[str, Any]:
    """The label fields of a POST body, typed and within limits, or :class:`Refused` (400)."""
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object {annotator, pair_id, answer, note, tools}")
    annotator = check_annotator(body.get("annotator"))
    pair_id = _text(body, "pair_id", MAX_PAIR_ID_CHARS, required=True)
    if not PAIR_ID_RE.fullmatch(pair_id):
        raise Refused(400, f"unknown pair_id {pair_id!r}")
    answer = body.get("answer")
    if not isinstance(answer, str) or answer not in ANSWERS:
        raise Refused(400, f"'answer' must be one of {', '.join(ANSWERS)}")
    note = _text(body, "note", MAX_NOTE_CHARS, required=False).strip() or None
    tools = body.get("tools")
    if tools is None:
        tools = []
    if not isinstance(tools, list) or len(tools) > MAX_TOOLS:
        raise Refused(400, f"'tools' must be a list of at most {MAX_TOOLS} names")
    if not all(isinstance(t, str) and len(t) <= MAX_TOOL_CHARS for t in tools):
        raise Refused(400, f"'tools' entries must be strings of at most {MAX_TOOL_CHARS} characters")
    kept = list(dict.fromkeys(t for t in tools if t in TOOLS))  # unknown names are dropped, repeats once
    return {"annotator": annotator, "pair_id": pair_id, "answer": answer, "note": note, "tools": kept}


def _handler(app: LabelApp, allowed: set[tuple[str, int]]) -> type[BaseHTTPRequestHandler]:
    page = (STATIC / "index.html").read_text().replace(CSRF_PLACEHOLDER, html.escape(app.csrf)).encode()

    class Handler(BaseHTTPRequestHandler):
        timeout = app.request_timeout_s  # socketserver applies it to the connection: no read blocks forever
        server_version = "prefhouse-labelapp"
        sys_version = ""
        body_read = False

        def log_message(self, fmt: str, *args: Any) -> None:
            log.debug(fmt, *args)

        # ------------------------------------------------------------------ replies
        def _send(self, status: int, body: bytes, ctype: str = "application/json", head: bool = False) -> None:
            if self.request_version == "HTTP/0.9":
                self.request_version = "HTTP/1.0"  # a reply without status line and headers explains nothing
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
            if status >= 400:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            self._send(status, json.dumps(payload).encode(), head=self.command == "HEAD")

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            # the stdlib's own refusals (bad request line, headers too long, ...) as JSON too
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._json(code, {"error": message or self.responses.get(code, ("error",))[0]})

        def _linger(self) -> None:
            """After refusing a POST whose body was not read: drop what the client still sends, briefly."""
            raw = (self.headers.get("Content-Length") or "").strip()
            if not DIGITS_RE.fullmatch(raw):
                return
            left = LINGER_MAX_BYTES if len(raw) > 12 else min(int(raw), LINGER_MAX_BYTES)
            deadline = time.monotonic() + LINGER_S
            try:
                while left > 0 and (wait := deadline - time.monotonic()) > 0:
                    self.connection.settimeout(wait)
                    chunk = self.rfile.read1(min(left, 65536))
                    if not chunk:
                        return
                    left -= len(chunk)
            except OSError:
                return

        def _serve(self, route: Callable[[], None]) -> None:
            try:
                try:
                    self._check_host()
                    route()
                except Refused as exc:
                    self._json(exc.status, {"error": exc.message})
                    if self.command == "POST" and not self.body_read:
                        self._linger()
                except OSError:
                    raise
                except Exception:
                    log.exception("labelling app: %s %s failed", self.command, self.path)
                    self._json(500, {"error": "internal error: see the server log"})
            except OSError as exc:  # the client went away (or timed out) mid-reply: nobody to answer
                log.debug("labelling app: %s %s: connection lost: %s", self.command, self.path, exc)
                self.close_connection = True

        def do_GET(self) -> None:
            self._serve(self._get)

        def do_HEAD(self) -> None:
            self._serve(self._get)

        def do_POST(self) -> None:
            self._serve(self._post)

        def _other(self) -> None:
            self._serve(self._not_allowed)

        do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _other

        def _not_allowed(self) -> None:
            raise Refused(405, f"method {self.command} is not allowed: GET or POST")

        # ------------------------------------------------------------------ checks
        def _host(self) -> tuple[str, int]:
            host = split_host(self.headers.get("Host", ""), 80)
            assert host is not None  # _check_host ran first
            return host

        def _check_host(self) -> None:
            raw = self.headers.get("Host")
            if not raw:
                raise Refused(400, "a Host header is required")
            for name in ("Host", "Origin", "Content-Length", CSRF_HEADER):
                if len(self.headers.get_all(name) or ()) > 1:
                    raise Refused(400, f"more than one {name} header")
            host = split_host(raw, 80)
            if host not in allowed:
                raise Refused(421, f"this server does not answer to Host {raw[:100]!r}")

        def _check_token(self) -> None:
            if not app.token:
                return
            given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), app.token.encode()):
                raise Refused(401, "access token required: open the page as http://HOST:PORT/#token=TOKEN")

        def _origin_ok(self) -> bool:
            """The request says it comes from this app's own page: Origin, else Sec-Fetch-Site."""
            origin = self.headers.get("Origin")
            if origin is not None:
                url = urlsplit(origin)
                return url.scheme == "http" and not url.path and split_host(url.netloc, 80) == self._host()
            return self.headers.get("Sec-Fetch-Site") == "same-origin"

        def _cross_site(self) -> bool:
            """The browser says another page sent this request (a GET a browser makes on its own has no Origin)."""
            if self.headers.get("Origin") is not None and not self._origin_ok():
                return True
            return self.headers.get("Sec-Fetch-Site") in ("cross-site", "same-site")

        def _check_csrf(self) -> None:
            given = self.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(given.encode(), app.csrf.encode()):
                raise Refused(403, f"missing or stale {CSRF_HEADER} header: reload the page")

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding"):
                raise Refused(411, "send the body with a Content-Length (no Transfer-Encoding)")
            raw = self.headers.get("Content-Length")
            if raw is None:
                raise Refused(411, "a Content-Length header is required")
            raw = raw.strip()
            if not DIGITS_RE.fullmatch(raw):
                raise Refused(400, f"Content-Length {raw[:40]!r} is not a non-negative integer")
            if len(raw) > 12 or int(raw) > MAX_BODY_BYTES:
                raise Refused(413, f"the body is {raw[:40]} bytes: at most {MAX_BODY_BYTES} are accepted")
            length = int(raw)
            deadline = time.monotonic() + app.request_timeout_s
            chunks, left = [], length
            self.body_read = True  # from here on, what was sent is read (or the client is gone)
            try:
                while left > 0:
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        raise TimeoutError
                    self.connection.settimeout(wait)
                    chunk = self.rfile.read1(left)
                    if not chunk:
                        raise Refused(400, "the body ended before Content-Length bytes")
                    chunks.append(chunk)
                    left -= len(chunk)
            except TimeoutError:
                raise Refused(408, f"the body did not arrive within {app.request_timeout_s:g} s") from None
            finally:
                self.connection.settimeout(app.request_timeout_s)
            return b"".join(chunks)

        # ------------------------------------------------------------------ routes
        def _get(self) -> None:
            url = urlsplit(self.path)
            if not url.path.startswith("/api/"):
                return self._static(url.path)
            self._check_token()
            if self._cross_site():
                raise Refused(403, "the API answers this app's own page only")
            try:
                args = {k: v[0] for k, v in parse_qs(url.query, max_num_fields=20).items()}
            except ValueError:
                raise Refused(400, "too many query parameters") from None
            if url.path == "/api/next":
                if "annotator" not in args:
                    raise Refused(400, "GET /api/next needs ?annotator=NAME")
                return self._json(200, app.next_item(check_annotator(args["annotator"])))
            if url.path == "/api/config":
                return self._json(200, {"round": app.round, "tools": list(TOOLS)})
            raise Refused(404, f"no route {url.path[:100]}")

        def _post(self) -> None:
            if urlsplit(self.path).path != "/api/label":
                raise Refused(404, "no such route: POST /api/label")
            self._check_token()
            if not self._origin_ok():
                raise Refused(403, "a label is taken only from this app's own page (Origin or Sec-Fetch-Site)")
            ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if ctype != "application/json":
                raise Refused(415, "the body must be Content-Type: application/json")
            self._check_csrf()
            raw = self._read_body()
            try:
                body = json.loads(raw)
            except (ValueError, RecursionError) as exc:
                raise Refused(400, f"the body is not JSON: {str(exc)[:200]}") from None
            self._json(200, app.save(body))

        def _static(self, path: str) -> None:
            if path not in PAGES:
                raise Refused(404, "not found")
            name, ctype = PAGES[path]
            body = page if name == "index.html" else (STATIC / name).read_bytes()
            self._send(200, body, ctype, head=self.command == "HEAD")

    return Handler
