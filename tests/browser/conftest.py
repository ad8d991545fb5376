"""Playwright driving Debian's Chromium against pytest-django's live server.

One browser for all the browser tests; each test gets a fresh context (cookies, storage). The
browser lives as long as this package's tests: Playwright's sync API keeps an event loop running
in the main thread, which the asyncio tests that come after must not inherit.
"""

from __future__ import annotations

import os
import socket
import threading
import time
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


# --- The ASGI server (HTTP and /ws/) for tests of live updates ------------------------------------
# Live updates need the websocket, which pytest-django's live server (WSGI) does not speak: these run
# the platform's ASGI application in Daphne, in a thread of the test process, sharing the test
# database (SQLite's in-memory one too) and the channel layer. One server for every module that
# uses it: Twisted's reactor cannot run twice in a process.
class AsgiServer:
    """Daphne serving helpdesk.asgi (with static files) on a free port, in a daemon thread."""

    def __init__(self) -> None:
        import daphne.server  # first: it installs Twisted's asyncio reactor
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from helpdesk.asgi import application

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = daphne.server.Server(
            ASGIStaticFilesHandler(application),
            endpoints=[f"tcp:port={self.port}:interface=127.0.0.1"],
            signal_handlers=False,
        )
        self.thread = threading.Thread(target=self.server.run, name="daphne", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("Daphne did not start")

    def wait_idle(self, timeout: float = 5) -> None:
        """Wait until every connection (pages, sockets) is closed, so nothing touches the database
        while the test's data is being rolled back."""
        deadline = time.monotonic() + timeout
        while self.server.connections and time.monotonic() < deadline:
            time.sleep(0.05)

    def call(self, func, *args, **kwargs):
        """Run ``func`` as a request's code runs: in the server's thread pool, under its event loop.
        Services that push realtime events must run there on the in-process channel layer (the
        embedded default): its queues belong to the server's loop, and this test thread has an
        event loop of its own (Playwright's), in which async_to_sync refuses to run."""
        import asyncio

        from asgiref.sync import sync_to_async
        from django.db import connections
        from twisted.internet import reactor

        def in_pool():
            try:
                return func(*args, **kwargs)
            finally:
                connections.close_all()

        loop = reactor._asyncioEventloop
        return asyncio.run_coroutine_threadsafe(sync_to_async(in_pool)(), loop).result(timeout=30)

    def stop(self) -> None:
        from twisted.internet import reactor

        reactor.callFromThread(reactor.stop)
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def asgi_server():
    # Twisted's reactor cannot be started twice in a process: one server for the session.
    server = AsgiServer()
    yield server
    server.stop()


@pytest.fixture
def open_browser(browser, asgi_server, transactional_db):
    """Opens a page in a fresh browser context (one person) against the ASGI server."""
    # The server runs each request in a thread of its own; with persistent connections every such
    # thread would keep one open to the test database. Close them at the end of each request.
    from django.db import connections

    max_ages = {alias: connections.settings[alias].get("CONN_MAX_AGE") for alias in connections.settings}
    for alias in max_ages:
        connections.settings[alias]["CONN_MAX_AGE"] = 0
    contexts = []

    def _open():
        context = browser.new_context(
            base_url=asgi_server.url,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            viewport={"width": 1280, "height": 860},
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()
    asgi_server.wait_idle()
    for alias, max_age in max_ages.items():
        connections.settings[alias]["CONN_MAX_AGE"] = max_age
