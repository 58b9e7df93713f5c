import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
# Debian's Chromium, never a downloaded browser; flags keep it off the (closed) network.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API keeps an event loop on this thread; Django's ORM would refuse to run
    # beside it in the test's own fixtures (the documented Playwright + Django workaround).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    # Module scope: Playwright's loop must be gone before async tests of other modules run.
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT
