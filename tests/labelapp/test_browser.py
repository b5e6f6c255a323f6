"""Headless Chromium (Debian's, driven by Playwright) signs in and labels with keyboard and mouse."""

from __future__ import annotations

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
    url, lake = app_server
    pages = {name: browser.new_page() for name in ("bob", "carol")}
    for name, page in pages.items():
        _sign_in(page, url, name)
    # Playwright's sync API is bound to one thread: both pages click, then both wait, so their saves overlap
    for answered in range(1, 5):
        for page in pages.values():
            page.click("#btn-a")
        for page in pages.values():
            page.wait_for_function("document.querySelector('#status').textContent.startsWith('saved')")
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
