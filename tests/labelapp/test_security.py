"""The labelling app's defences, each from a reproduction of the issue, over real HTTP on 127.0.0.1.

A label is gold, so it is taken only from the app's own page (Host, Origin, JSON, the page's
anti-forgery token); bodies and fields are bounded and typed; every bad request gets a 4xx
JSON reply and the server keeps serving; the A/B order is keyed by a secret in the lake.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
import pytest

from lake import Lake
from lake.records import pair_row, pairs_table
from pipelines.labelapp import queue
from pipelines.labelapp.server import LabelApp


def _labels(lake) -> list[dict]:
    return Lake(lake.root).dataset("human_labels").to_table().to_pylist()


def _good(lake, annotator: str = "ann") -> dict:
    return {"annotator": annotator, "pair_id": lake.rows[0]["pair_id"], "answer": "A", "note": "ok", "tools": []}


def _raw(url: str, request: bytes, *, read_timeout: float = 30.0) -> tuple[int, dict, float]:
    """Send bytes as they are and read the reply: (status, JSON body, seconds until the reply came)."""
    parts = urlsplit(url)
    start = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=read_timeout) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head, f"no reply to {request[:80]!r}"
    status = int(head.split(b" ", 2)[1])
    assert b"application/json" in head.lower(), head
    return status, json.loads(body), time.monotonic() - start


def _post_head(url: str, client, length: str | None, extra: str = "") -> bytes:
    host = urlsplit(url).netloc
    lines = [
        "POST /api/label HTTP/1.1",
        f"Host: {host}",
        f"Origin: {url}",
        "Content-Type: application/json",
        f"X-Prefhouse-CSRF: {client.csrf}",
    ]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + extra + "\r\n\r\n").encode("latin-1")  # header bytes as the server reads them


# ----------------------------------------------------------------------------------- finding 2


def test_label_from_another_origin_is_refused(app_server, client):
    """The issue's forgery: another page's no-cors text/plain POST was stored as a human label."""
    url, lake = app_server
    body = json.dumps(_good(lake))
    evil = "http://127.0.0.1:9"  # another origin on the same machine
    forged = [
        ({"Origin": evil, "Content-Type": "text/plain"}, 403),  # the reproduction, as the browser sends it
        ({"Origin": evil, "Content-Type": "application/json", "X-Prefhouse-CSRF": client.csrf}, 403),
        ({"Origin": "null", "Content-Type": "application/json", "X-Prefhouse-CSRF": client.csrf}, 403),
        ({"Origin": url.replace("http:", "https:"), "Content-Type": "application/json"}, 403),
        ({"Content-Type": "application/json", "X-Prefhouse-CSRF": client.csrf}, 403),  # no Origin, no Fetch-Site
        ({"Sec-Fetch-Site": "same-site", "Content-Type": "application/json", "X-Prefhouse-CSRF": client.csrf}, 403),
        ({"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json", "X-Prefhouse-CSRF": client.csrf}, 403),
        ({"Origin": url, "Content-Type": "text/plain", "X-Prefhouse-CSRF": client.csrf}, 415),  # JSON only
        ({"Origin": url, "Content-Type": "application/x-www-form-urlencoded", "X-Prefhouse-CSRF": client.csrf}, 415),
        ({"Origin": url, "Content-Type": "application/json"}, 403),  # no anti-forgery token
        ({"Origin": url, "Content-Type": "application/json", "X-Prefhouse-CSRF": "guess"}, 403),
    ]
    for headers, status in forged:
        resp = httpx.post(f"{url}/api/label", content=body, headers=headers)
        assert resp.status_code == status, (headers, resp.text)
        assert resp.json()["error"]
    assert _labels(lake) == []  # nothing forged became gold
    # what the page sends is taken: Origin, or (a browser that left Origin out) Sec-Fetch-Site: same-origin
    assert client.label(_good(lake)).status_code == 200
    headers = {"Sec-Fetch-Site": "same-origin", "X-Prefhouse-CSRF": client.csrf}
    assert httpx.post(f"{url}/api/label", json=_good(lake, "bo"), headers=headers).status_code == 200
    assert len(_labels(lake)) == 2
    # a restarted server has a new anti-forgery token: an old page's token is stale
    assert "prefhouse-csrf" in httpx.get(url).text and client.csrf != LabelApp(lake).csrf


def test_host_header_is_checked(app_server, client):
    """DNS rebinding: a request for Host: evil.example got 200 and could read the queue."""
    url, lake = app_server
    port = urlsplit(url).port
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1:{port + 1}", "127.0.0.1", "[::1"):
        for path in ("/api/next?annotator=ann", "/api/config", "/", "/static/app.js"):
            resp = httpx.get(f"{url}{path}", headers={"Host": host})
            assert resp.status_code in (400, 421), (host, path)
            assert "pair_id" not in resp.text and "prefhouse-csrf" not in resp.text
        headers = {**client.headers, "Host": host, "Origin": f"http://{host}"}
        resp = httpx.post(f"{url}/api/label", json=_good(lake), headers=headers)
        assert resp.status_code in (400, 421) and resp.json()["error"]
    assert _labels(lake) == []
    for alias in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}"):  # loopback names
        resp = httpx.get(f"{url}/api/next", params={"annotator": "ann"}, headers={"Host": alias})
        assert resp.status_code == 200 and resp.json()["pair_id"]
    status, body, _ = _raw(url, b"GET /api/config HTTP/1.0\r\n\r\n")  # HTTP/1.0 without a Host header
    assert status == 400 and "Host" in body["error"]
    two = f"GET /api/config HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example\r\n\r\n".encode()
    assert _raw(url, two)[0] == 400


def test_api_refuses_cross_site_reads(app_server):
    url, _ = app_server
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        resp = httpx.get(f"{url}/api/next", params={"annotator": "ann"}, headers=headers)
        assert resp.status_code == 403 and "pair_id" not in resp.text
        assert "access-control-allow-origin" not in resp.headers
    page = httpx.get(url)  # the page may not be framed (clickjacking the A / B keys) nor run inline script
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def _public_order(annotator: str, pair_id: str) -> bool:
    """The order the app used to show: anyone who knows the pair ids (content hashes) could compute it."""
    return hashlib.blake2b(f"{annotator}\x00{pair_id}".encode(), digest_size=1).digest()[0] % 2 == 0


def test_ab_order_is_keyed_by_a_secret_in_the_lake(app_server, client, tmp_path):
    _, lake = app_server
    secret = lake.root / queue.SECRET_FILE
    assert secret.exists() and stat.S_IMODE(secret.stat().st_mode) == 0o600
    pid = lake.rows[0]["pair_id"]
    names = [f"annotator-{i}" for i in range(48)]
    shown = {}
    for name in names:
        item = client.next(name).json()
        assert item["pair_id"] == lake.rows[2]["pair_id"]  # the queue's first pair
        shown[name] = item["responses"]["A"].startswith("CHOSEN")
    first_pid = lake.rows[2]["pair_id"]
    assert shown != {n: _public_order(n, first_pid) for n in names}  # 48 bits: not the public hash
    assert len(set(shown.values())) == 2  # both orders occur
    # stable for this lake across restarts: a new app (a new process would read the same file) agrees
    key = queue.order_key(Lake(lake.root))
    assert shown == {n: queue.chosen_shown_first(key, n, first_pid) for n in names}
    # another lake with the same pairs has its own secret, so its order is not this one's
    other = Lake(tmp_path / "other")
    other.append("pairs", pairs_table([pair_row("q", "c", "r")]))
    other_key = queue.order_key(other)
    assert other_key != key
    assert [queue.chosen_shown_first(other_key, n, pid) for n in names] != [
        queue.chosen_shown_first(key, n, pid) for n in names
    ]
    # what is stored is the order the annotator saw, whatever they answer
    for name in names[:6]:
        assert client.label({"annotator": name, "pair_id": first_pid, "answer": "B"}).status_code == 200
    rows = {r["annotator"]: r for r in _labels(lake)}
    for name in names[:6]:
        assert rows[name]["is_chosen_shown_first"] == shown[name]
        assert rows[name]["verdict"] == ("rejected" if shown[name] else "chosen")  # B was the other side


# ----------------------------------------------------------------------------------- finding 3


def test_bodies_and_fields_are_bounded_and_typed(app_server, client):
    url, lake = app_server
    pid = lake.rows[0]["pair_id"]
    bad_bodies = [
        {"annotator": "ann", "pair_id": pid, "answer": "A", "note": "x" * 5001},
        {"annotator": "a" * 101, "pair_id": pid, "answer": "A"},
        {"annotator": "ann", "pair_id": pid, "answer": "A", "tools": ["search"] * 17},
        {"annotator": "ann", "pair_id": pid, "answer": "A", "tools": ["s" * 41]},
        {"annotator": "ann", "pair_id": pid, "answer": "A", "tools": [1]},
        {"annotator": "ann", "pair_id": pid, "answer": "A", "tools": "search"},
        {"annotator": "ann", "pair_id": pid, "answer": "A", "note": 5},  # killed the request thread before
        {"annotator": "ann", "pair_id": pid, "answer": "C"},
        {"annotator": "ann", "pair_id": pid, "answer": ["A"]},
        {"annotator": "ann", "pair_id": pid},
        {"annotator": 7, "pair_id": pid, "answer": "A"},
        {"annotator": "   ", "pair_id": pid, "answer": "A"},
        {"annotator": "a\x00b", "pair_id": pid, "answer": "A"},
        {"annotator": "ann", "pair_id": [pid], "answer": "A"},
        {"annotator": "ann", "pair_id": "p" * 65, "answer": "A"},
        [_good(lake)],  # an array: killed the request thread before
        "a string",
        5,
    ]
    for body in bad_bodies:
        resp = client.label(body)
        assert resp.status_code == 400, (str(body)[:80], resp.text)
        assert resp.json()["error"]
    json_headers = {**client.headers, "Content-Type": "application/json"}
    for raw in (b"null", b"{not json", b'{"annotator": "\xff"}', b"[" * 30000 + b"]" * 30000, b"", b"1" * 5000):
        resp = httpx.post(f"{url}/api/label", content=raw, headers=json_headers)
        assert resp.status_code == 400 and resp.json()["error"], raw[:20]
    big = {**_good(lake), "note": "n" * 20_000_000, "tools": ["search"] * 100_000}  # the 21 MB label
    assert client.label(big).status_code == 413
    assert client.label({**_good(lake), "annotator": "a" * 5_000_000}).status_code == 413
    resp = client.next("a" * 200)
    assert resp.status_code == 400 and "annotator" in resp.json()["error"]
    assert httpx.get(f"{url}/api/next").status_code == 400
    assert _labels(lake) == []
    ok = client.label({**_good(lake), "note": "n" * 5000, "tools": ["search", "search", "calculator", "x"]})
    assert ok.status_code == 200  # at the limits is fine; unknown tools are dropped, repeats kept once
    (row,) = _labels(lake)
    assert len(row["note"]) == 5000 and row["tools"] == ["search", "calculator"]


def test_bad_content_length_gets_a_reply_and_the_server_keeps_serving(app_server, client):
    url, lake = app_server
    cases = [
        ("1000000000000", 413, "at most"),  # was a MemoryError and no reply
        ("-1", 400, "Content-Length"),  # held the thread until the client left
        ("abc", 400, "Content-Length"),
        ("1e3", 400, "Content-Length"),
        ("\u00b2", 400, "Content-Length"),  # a digit to str.isdigit, not to int()
        ("9" * 5000, 413, "at most"),  # more digits than int() converts
        (None, 411, "Content-Length"),
    ]
    for length, status, word in cases:
        got, body, took = _raw(url, _post_head(url, client, length), read_timeout=8)
        assert (got, word in body["error"]) == (status, True), (length, body)
        assert took < 5, f"Content-Length {length}: the reply took {took:.1f} s"
    got, body, _ = _raw(url, _post_head(url, client, None, "\r\nTransfer-Encoding: chunked"), read_timeout=8)
    assert got == 411
    # the stdlib's own refusals are JSON 4xx too
    assert _raw(url, b"NONSENSE\r\n\r\n")[0] == 400
    assert _raw(url, b"GET / HTTP/9.x\r\n\r\n")[0] == 400
    assert _raw(url, b"GET /" + b"x" * 70000 + b" HTTP/1.1\r\n\r\n")[0] == 414
    for method in ("PUT", "DELETE", "OPTIONS", "PATCH"):
        resp = httpx.request(method, f"{url}/api/label", headers=client.headers)
        assert resp.status_code == 405 and resp.json()["error"]
    assert httpx.get(f"{url}/static/../server.py").status_code == 404
    # after the burst, a good request still succeeds
    assert client.label(_good(lake)).status_code == 200
    assert len(_labels(lake)) == 1


def test_a_stalled_request_times_out(queued_lake, serve, page_client):
    url = serve(queued_lake, request_timeout_s=1.0)
    client = page_client(url)
    # a body that never comes: the thread gives up after the request timeout and says so
    got, body, took = _raw(url, _post_head(url, client, "100") + b'{"annotator"')
    assert got == 408 and "within 1 s" in body["error"] and took < 8, (body, took)
    # clients that connect and send nothing, or stop halfway through the headers, do not hold the server
    parts = urlsplit(url)
    idle = [socket.create_connection((parts.hostname, parts.port)) for _ in range(4)]
    idle[0].sendall(b"POST /api/label HTTP/1.1\r\nHost: x")
    try:
        assert client.next("ann").status_code == 200
        for sock in idle:
            sock.settimeout(8)
            assert sock.recv(100) == b""  # the server closed it after its timeout (else: socket.timeout)
    finally:
        for sock in idle:
            sock.close()
    assert client.label(_good(queued_lake)).status_code == 200


# ----------------------------------------------------------------------------------- the token


def _cli(lake, *args: str, env: dict | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "prefhouse.cli", "--lake", str(lake.root), "label", "serve", *args]
    environ = {k: v for k, v in os.environ.items() if k != "PREFHOUSE_LABEL_TOKEN"}
    return subprocess.Popen(
        cmd, env={**environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _refused(proc: subprocess.Popen) -> str:
    """The stderr of a CLI run that must exit at once (killed if it serves instead)."""
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("the server started instead of refusing") from None
    assert proc.returncode == 2, err
    return err


def test_token_is_never_on_the_command_line_nor_printed_whole(queued_lake, tmp_path):
    err = _refused(_cli(queued_lake, "--token", "on-the-command-line-0123"))
    assert "--token-file" in err and "PREFHOUSE_LABEL_TOKEN" in err and "on-the-command-line-0123" not in err

    token_file = tmp_path / "token"
    token_file.write_text("from-a-file-0123456789\n")
    env_token = "from-the-env-0123456789"
    servers = {
        "from-a-file-0123456789": _cli(queued_lake, "--port", "0", "--token-file", str(token_file)),
        env_token: _cli(queued_lake, "--port", "0", env={"PREFHOUSE_LABEL_TOKEN": env_token}),
    }
    try:
        for token, proc in servers.items():
            line = proc.stdout.readline()
            assert line.startswith("labelling app on http://127.0.0.1:"), line + proc.stderr.read()
            assert token not in line and f"{token[:4]}…" in line and "#token=<your token>" in line
            url = line.split()[3].rstrip("/")
            params = {"annotator": "a"}
            assert httpx.get(f"{url}/api/next", params=params).status_code == 401
            ok = httpx.get(f"{url}/api/next", params=params, headers={"Authorization": f"Bearer {token}"})
            assert ok.status_code == 200
    finally:
        for proc in servers.values():
            proc.terminate()
            proc.communicate(timeout=60)

    err = _refused(_cli(queued_lake, "--host", "0.0.0.0", "--port", "0"))  # no token: refused beyond loopback
    assert "PREFHOUSE_LABEL_TOKEN" in err


@pytest.mark.parametrize("token", ["short", "has spaces in the middle", "non-ascii-tökén-0123456"])
def test_unusable_tokens_are_refused(queued_lake, token):
    with pytest.raises(ValueError, match="at least 16 printable ASCII"):
        LabelApp(queued_lake, token=token)
