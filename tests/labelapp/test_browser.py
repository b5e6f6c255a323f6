"""Headless Chromium (Debian's, driven by Playwright) signs in and labels with keyboard and mouse.

Also: hostile texts stay inert and code stays legible, a page from another origin cannot label,
and the page carries the access token from the URL's fragment.
"""

from __future__ import annotations

import re

import pytest

from lake import Lake

pytestmark = pytest.mark.browser  # the `browser` fixture (tests/conftest.py) skips without chromium


def _sign_in(page, url: str, name: str) -> None:
    page.goto(url)
    page.fill("#name", name)
    page.click("#signin")
    page.wait_for_selector("#label-view:not([hidden])")


def _remaining(page, n: int) -> None:
    from playwright.sync_api import expect

    if n == 0:
        expect(page.locator("#done-view")).to_be_visible()
    else:
        expect(page.locator("#remaining")).to_have_text(f"{n} pair(s) left in your queue")


def _answers(lake: Lake, annotator: str) -> list[dict]:
    fresh = Lake(lake.root)  # a fresh reader: what is committed, as after a server stop
    rows = fresh.dataset("human_labels").to_table().to_pylist()
    return [r for r in rows if r["annotator"] == annotator]


def test_sign_in_and_label_with_keyboard_and_mouse(browser, app_server):
    url, lake = app_server
    page = browser.new_page()
    _sign_in(page, url, "alice")
    text = {r["pair_id"]: r for r in lake.rows}

    def shown_chosen_letter() -> str:
        return "A" if page.inner_text("#response-a").startswith("CHOSEN") else "B"

    expect_verdicts = []
    letter = shown_chosen_letter()  # 1: keyboard, the chosen one
    page.keyboard.press("a" if letter == "A" else "b")
    expect_verdicts.append("chosen")
    _remaining(page, 3)
    assert len(_answers(lake, "alice")) == 1  # in the lake as soon as it was answered

    letter = shown_chosen_letter()  # 2: a note and a tool, then the mouse on the other one
    page.keyboard.press("n")
    page.keyboard.type("the other is wrong")
    page.keyboard.press("Escape")
    page.check("#tools input[value='search']")
    page.click("#btn-b" if letter == "A" else "#btn-a")
    expect_verdicts.append("rejected")
    _remaining(page, 2)

    page.keyboard.press("d")  # 3: cannot tell
    expect_verdicts.append("discard")
    _remaining(page, 1)
    assert "CHOSEN" in page.inner_text("#response-a") + page.inner_text("#response-b")
    page.keyboard.press("2" if shown_chosen_letter() == "B" else "1")  # 4: number keys
    expect_verdicts.append("chosen")
    _remaining(page, 0)

    got = sorted(_answers(lake, "alice"), key=lambda r: r["labeled_at"])
    assert [r["verdict"] for r in got] == expect_verdicts
    assert got[1]["note"] == "the other is wrong" and got[1]["tools"] == ["search"]
    assert all(r["pair_id"] in text and r["round"] == 2 for r in got)
    page.close()


def test_two_annotators_at_once_do_not_overwrite_each_other(browser, app_server):
    from playwright.sync_api import expect

    url, lake = app_server
    pages = {name: browser.new_page() for name in ("bob", "carol")}
    for name, page in pages.items():
        _sign_in(page, url, name)
    # Playwright's sync API is bound to one thread: both pages click, then both wait, so their saves overlap
    for answered in range(1, 5):
        for page in pages.values():
            page.click("#btn-a")
        for page in pages.values():
            expect(page.locator("#status")).to_have_text(re.compile("^saved"))  # no wait_for_function: CSP
            page.evaluate("document.querySelector('#status').textContent = ''")
            _remaining(page, 4 - answered)  # the next pair is shown: a click now is not one the app ignores as busy
    for page in pages.values():
        _remaining(page, 0)
    bob, carol = _answers(lake, "bob"), _answers(lake, "carol")
    assert len(bob) == 4 and len(carol) == 4
    assert {r["pair_id"] for r in bob} == {r["pair_id"] for r in carol}  # both labelled every pair
    assert len({r["label_id"] for r in bob + carol}) == 8
    for page in pages.values():
        page.close()


HOSTILE_PROMPT = "Explain <img src=x onerror=\"window.__pwned='img'\"> and `<b>not bold</b>` please"
HOSTILE_CHOSEN = """CHOSEN: use this:

```python
def f(x):
    if x:
        return  x  # two spaces, kept
```

Also <script>window.__pwned='script'</script> and [a link](javascript:window.__pwned='link') **bold**
    an  indented  line"""
HOSTILE_REJECTED = """REJECTED <svg/onload="window.__pwned='svg'"></svg> <iframe src="javascript:parent.__pwned=1">
~~~
<script>window.__pwned='fenced'</script>
~~~"""


@pytest.fixture
def hostile_lake(lake):
    from lake.records import pair_row, pairs_table

    row = pair_row(HOSTILE_PROMPT, HOSTILE_CHOSEN, HOSTILE_REJECTED)
    lake.append("pairs", pairs_table([row]))
    return lake


def test_hostile_text_is_inert_and_code_stays_legible(browser, hostile_lake, serve):
    url = serve(hostile_lake)
    page = browser.new_page()
    _sign_in(page, url, "eve")
    assert page.evaluate("typeof window.__pwned") == "undefined"  # nothing in the texts ran
    shown = page.locator("#conversation, #response-a, #response-b")
    assert shown.count() == 3 and shown.locator("img, script, svg, iframe, a, b, strong").count() == 0
    chosen, rejected = ("#response-a", "#response-b")
    if not page.inner_text(chosen).startswith("CHOSEN"):
        chosen, rejected = rejected, chosen
    text = page.inner_text(chosen)
    assert "<script>window.__pwned='script'</script>" in text and "**bold**" in text  # shown as typed
    assert "    an  indented  line" in text  # whitespace kept
    style = "(el, prop) => getComputedStyle(el)[prop]"
    assert page.locator(f"{chosen} .prose").first.evaluate(style, "whiteSpace") == "pre-wrap"
    code = page.locator(f"{chosen} pre.code-block code")
    assert code.count() == 1
    assert code.text_content() == "def f(x):\n    if x:\n        return  x  # two spaces, kept"
    assert "monospace" in code.evaluate(style, "fontFamily")
    assert page.locator(f"{chosen} pre.code-block").evaluate(style, "whiteSpace") == "pre"
    assert page.locator(f"{chosen} pre.code-block").get_attribute("data-lang") == "python"
    fenced = page.locator(f"{rejected} pre.code-block code")
    assert fenced.text_content() == "<script>window.__pwned='fenced'</script>"
    inline = page.locator("#conversation code.inline")
    assert inline.text_content() == "<b>not bold</b>" and "monospace" in inline.evaluate(style, "fontFamily")
    assert "<img src=x onerror=" in page.inner_text("#conversation")
    page.keyboard.press("d")  # the page still works: the answer is saved
    _remaining(page, 0)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert [r["verdict"] for r in _answers(hostile_lake, "eve")] == ["discard"]
    page.close()


ATTACKER_PAGE = """<!doctype html><html><body>
<form id="form" method="POST" action="APP/api/label" enctype="text/plain" target="sink">
<input name='{"annotator": "mallory", "pair_id": "PID", "answer": "A", "x": "' value='"}'></form>
<iframe name="sink" id="sink"></iframe>
<script>
const body = JSON.stringify({annotator: "mallory", pair_id: "PID", answer: "A"});
const post = (headers) => fetch("APP/api/label", {method: "POST", mode: "no-cors", headers, body});
Promise.allSettled([
  post({"Content-Type": "text/plain"}),
  post({"Content-Type": "application/json", "X-Prefhouse-CSRF": "guess"}),
  fetch("APP/api/next?annotator=mallory").then((r) => r.text()),
]).then((results) => {
  window.read = results[2].status;
  document.getElementById("sink").addEventListener("load", () => { document.title = "done"; });
  document.getElementById("form").submit();
});
</script></body></html>"""


def test_a_page_from_another_origin_cannot_label(browser, app_server):
    """The issue's reproduction: another origin on 127.0.0.1 posted a label with no-cors fetch and got gold."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    url, lake = app_server
    html = ATTACKER_PAGE.replace("APP", url).replace("PID", lake.rows[0]["pair_id"]).encode()

    class Attacker(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args) -> None:
            pass

    evil = ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{evil.server_address[1]}/")
        page.wait_for_function("document.title === 'done'", timeout=30_000)
        assert page.evaluate("window.read") == "rejected"  # it cannot read the queue either
        page.close()
    finally:
        evil.shutdown()
        evil.server_close()
    assert _answers(lake, "mallory") == []
    assert Lake(lake.root).dataset("human_labels").count_rows() == 0


def test_the_page_carries_the_access_token_from_the_fragment(browser, queued_lake, serve):
    token = "tok-" + "x" * 28
    url = serve(queued_lake, token=token)
    page = browser.new_page()
    page.goto(f"{url}/#token={token}")
    assert page.evaluate("location.hash") == ""  # out of the address bar and the history
    page.fill("#name", "tina")
    page.click("#signin")
    page.wait_for_selector("#label-view:not([hidden])")
    page.keyboard.press("d")
    _remaining(page, 3)
    assert [r["verdict"] for r in _answers(queued_lake, "tina")] == ["discard"]
    page.close()
