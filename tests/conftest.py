"""Shared fixtures: a temporary lake, and offline settings for every test."""

from __future__ import annotations

from pathlib import Path

import pytest

from lake.offline import use_offline_env

use_offline_env()

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"


@pytest.fixture
def lake(tmp_path: Path):
    from lake import Lake

    return Lake(tmp_path / "lakehouse")


CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium as root, offline: no sandbox, and no background traffic the closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright (one per test module)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is missing: apt-get install -y chromium (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()
