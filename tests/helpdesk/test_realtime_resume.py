"""Resumable realtime over a real daphne process on PostgreSQL and Redis (issue 12's proof).

A phone that loses its socket reconnects with the last event id it saw and receives every event it
missed, in order and once: after a plain disconnect, after the web process restarts, and after
Redis itself restarts (a Redis of this test's own, with its append-only file on). The events come
from this test process through ``helpdesk.core.events.send_event``, as a Celery worker's would.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time

import pytest
from django.db import connections

from accounts import services as account_services
from helpdesk.core.events import send_event
from tests.backends import require_redis_url
from tests.daphne_server import DaphneProcess, free_port
from tests.factories import UserFactory
from tests.ws_client import Closed, WebSocket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PAYLOAD = {
    "id": 1,
    "number": "TS20261205001",
    "title": "投影仪无信号",
    "state": "in_progress",
    "priority": "P3",
    "updated_at": "2026-12-05T09:30:00+08:00",
}


@pytest.fixture
def daphne(tmp_path):
    server = DaphneProcess(var_dir=tmp_path / "var", redis_url=require_redis_url()).start()
    yield server
    server.stop()


def produce(user_id: int, count: int) -> None:
    """Runs in a worker thread (asyncio.to_thread): closes that thread's connection when done, or
    PostgreSQL could not drop the test database at the end of the session."""
    try:
        for n in range(count):
            send_event(user_ids=[user_id], event_type="ticket.updated", payload=PAYLOAD | {"id": n + 1})
    finally:
        connections.close_all()


async def connect(server: DaphneProcess, key: str, last_event_id: int | None = None) -> tuple[WebSocket, dict]:
    query = f"?token={key}" + (f"&last_event_id={last_event_id}" if last_event_id is not None else "")
    try:
        sock = await WebSocket.connect("127.0.0.1", server.port, f"/ws/{query}")
    except Exception:
        print(server.output())
        raise
    hello = await sock.receive(timeout=10)
    assert hello["type"] == "hello", hello
    return sock, hello


async def drain(sock: WebSocket) -> list[dict]:
    """Every event the server has for this socket: ping, collect until the pong."""
    await sock.send_json({"type": "ping"})
    frames = []
    while True:
        frame = await sock.receive(timeout=10)
        if frame["type"] == "pong":
            return frames
        frames.append(frame)


def assert_in_order_once(frames: list[dict], after: int, count: int) -> None:
    assert [frame["type"] for frame in frames] == ["ticket.updated"] * count
    assert [frame["id"] for frame in frames] == list(range(after + 1, after + count + 1))
    assert [frame["payload"]["id"] for frame in frames] == list(range(1, count + 1))


def test_a_client_that_missed_50_events_receives_all_50_in_order_once(daphne):
    user = UserFactory()
    key = account_services.token_issue(user=user).key

    async def scenario():
        sock, hello = await connect(daphne, key)
        seen = hello["payload"]["last_event_id"]
        await sock.close()
        await asyncio.to_thread(produce, user.pk, 50)
        sock, hello = await connect(daphne, key, seen)
        assert hello["payload"]["resumed"] is True
        frames = await drain(sock)
        assert_in_order_once(frames, seen, 50)
        # Nothing more follows: each was sent once.
        assert await drain(sock) == []
        await sock.close()

    asyncio.run(scenario())


def test_the_same_after_the_web_process_restarts(daphne):
    user = UserFactory()
    key = account_services.token_issue(user=user).key

    async def scenario():
        sock, hello = await connect(daphne, key)
        seen = hello["payload"]["last_event_id"]
        await asyncio.to_thread(produce, user.pk, 5)
        live = await drain(sock)
        assert_in_order_once(live, seen, 5)
        seen = live[-1]["id"]
        await asyncio.to_thread(daphne.stop)
        await asyncio.to_thread(produce, user.pk, 50)
        await asyncio.to_thread(daphne.start)
        sock, _hello = await connect(daphne, key, seen)
        assert_in_order_once(await drain(sock), seen, 50)
        await sock.close()

    asyncio.run(scenario())


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of this test's own with its append-only file on, which the test may restart."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed")
    port = free_port()

    def start() -> subprocess.Popen:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--appendonly", "yes", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return process
            time.sleep(0.1)
        pytest.fail("redis-server did not start")

    state = {"process": start()}

    def restart() -> None:
        state["process"].terminate()
        state["process"].wait(timeout=20)
        state["process"] = start()

    yield f"redis://127.0.0.1:{port}/0", restart
    state["process"].terminate()
    state["process"].wait(timeout=20)


def test_after_a_redis_restart_nothing_is_lost(own_redis, settings, tmp_path):
    url, restart = own_redis
    # This process pushes through the same Redis as the server.
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    server = DaphneProcess(var_dir=tmp_path / "var", redis_url=url).start()
    user = UserFactory()
    key = account_services.token_issue(user=user).key

    async def scenario():
        sock, hello = await connect(server, key)
        seen = hello["payload"]["last_event_id"]
        await asyncio.to_thread(restart)
        await asyncio.to_thread(produce, user.pk, 20)
        received: list[dict] = []
        try:
            received = await drain(sock)
        except (Closed, ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            # The server dropped the socket with its Redis connection: reconnect from the last id.
            sock, _hello = await connect(server, key, seen)
            received = await drain(sock)
        assert_in_order_once(received, seen, 20)
        await sock.close()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
        channel_layers.backends.clear()


def test_events_past_the_retention_are_answered_with_a_resync(daphne):
    from datetime import timedelta

    from django.utils import timezone

    from helpdesk.core import eventlog
    from helpdesk.core.models import StoredEvent

    user = UserFactory()
    key = account_services.token_issue(user=user).key

    async def scenario():
        sock, hello = await connect(daphne, key)
        seen = hello["payload"]["last_event_id"]
        await sock.close()
        await asyncio.to_thread(produce, user.pk, 10)

        def age_and_prune() -> int:
            try:
                StoredEvent.objects.filter(user_id=user.pk).update(created_at=timezone.now() - timedelta(hours=49))
                return eventlog.prune()
            finally:
                connections.close_all()

        assert await asyncio.to_thread(age_and_prune) == 10
        sock, hello = await connect(daphne, key, seen)
        assert hello["payload"]["resumed"] is False
        assert await sock.receive(timeout=10) == {
            "type": "resync",
            "payload": {"reason": "expired", "last_event_id": seen + 10},
        }
        # From there the socket is live again.
        await asyncio.to_thread(produce, user.pk, 1)
        (frame,) = await drain(sock)
        assert frame["id"] == seen + 11
        await sock.close()

    asyncio.run(scenario())
