"""Playwright driving Debian's Chromium against pytest-django's live server.

One browser for all the browser tests; each test gets a fresh context (cookies, storage). The
browser lives as long as this package's tests: Playwright's sync API keeps an event loop running
in the main thread, which the asyncio tests that come after must not inherit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MISSING = (
    "Chromium not found: install Debian's chromium (apt-get install chromium fonts-noto-cjk) to run the browser tests"
)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="package")
def browser():
    if not Path(CHROMIUM_PATH).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{MISSING} (looked for {CHROMIUM_PATH}; CI must run them)", pytrace=False)
        pytest.skip(MISSING)
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread, which makes Django refuse ORM calls
    # here; the tests' own ORM calls around the browser are synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    thread_connections = {alias: connections[alias] for alias in connections}
    try:
        with sync_playwright() as playwright:
            # With a loop running, Django keeps connections per async context and would hand the
            # tests fresh ones that lack what the test database setup put on the thread's own
            # (the snapshot serialized_rollback restores); keep using the thread's connections.
            for alias, connection in thread_connections.items():
                connections[alias] = connection
            browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser, live_server):
    """Opens pages in fresh browser contexts (separate users); all are closed after the test.

    Every request a page makes is recorded on ``page.requests`` so a test can check that nothing
    is fetched from outside the platform (no CDN).
    """
    contexts = []

    def _open():
        context = browser.new_context(
            base_url=live_server.url,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            viewport={"width": 1280, "height": 860},
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.requests = []
        page.on("request", lambda request: page.requests.append(request.url))
        return page

    yield _open
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(exist_ok=True)

    def _take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _take
