"""A storm of sockets against a real daphne on Redis: the process's Redis connections stay within the
channel layer's bound while 200 sockets open and close at once, none is refused, and events still
arrive (issue 19; bench/bench_ws_storm.py runs the same with 2,000 sockets and two processes).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

import httpx
import pytest
import redis
from django.db import connections, transaction

from helpdesk.core import event_types
from helpdesk.core.events import send_event
from tests.backends import require_redis_url
from tests.daphne_server import DaphneProcess
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpdesk.ws_client import open_socket, redis_clients_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

MAX_CONNECTIONS = 4  # per event loop; daphne has two (its own, and the one for sync code's events)
BOUND = 2 * MAX_CONNECTIONS
USERS = 4
SOCKETS_PER_USER = 50  # 200 sockets


@pytest.fixture
def redis_url() -> str:
    return require_redis_url()


@pytest.fixture
def daphne(tmp_path, redis_url, settings):
    # This process sends the events as a Celery worker would: through the same layer and prefix.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "helpdesk.core.channel_layer.BoundedRedisChannelLayer",
            "CONFIG": {"hosts": [{"address": redis_url, "max_connections": 2}], "prefix": "helpdesk:ws"},
        }
    }
    server = DaphneProcess(
        var_dir=tmp_path / "var",
        redis_url=redis_url,
        HELPDESK_CHANNEL_LAYER_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
    ).start()
    try:
        yield server.process, server.port
    finally:
        server.stop()


def sign_in(port: int, username: str) -> str:
    """A phone's sign-in through the API: its token."""
    response = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/auth/token/",
        json={"username": username, "password": DEFAULT_PASSWORD},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


class Sampler(threading.Thread):
    """The most Redis connections process ``pid`` held while it ran (all, and the channel layer's)."""

    def __init__(self, pid: int, client: redis.Redis) -> None:
        super().__init__(daemon=True)
        self.pid, self.client = pid, client
        self.peak = (0, 0)
        self.running = True

    def run(self) -> None:
        while self.running and os.path.exists(f"/proc/{self.pid}"):
            total, layer = redis_clients_of(self.pid, self.client)
            self.peak = (max(self.peak[0], total), max(self.peak[1], layer))
            time.sleep(0.02)

    def stop(self) -> tuple[int, int]:
        self.running = False
        self.join(timeout=5)
        return self.peak


def example_payload() -> dict:
    """A ticket.updated payload of the declared shape (the tests validate every payload)."""
    return dict(event_types.get("ticket.updated").examples[0])


def _push(user_id: int, number: int) -> None:
    try:
        with transaction.atomic():
            send_event(user_ids=[user_id], event_type="ticket.updated", payload={**example_payload(), "id": number})
    finally:
        connections.close_all()  # this thread's, or PostgreSQL could not drop the test database


async def push(user_id: int, number: int) -> None:
    """An event for the user, sent on commit from this process (a Celery worker's way)."""
    await asyncio.to_thread(_push, user_id, number)


async def next_event(sock, timeout: float = 10) -> dict:
    while True:
        message = await sock.receive(timeout)
        if message["type"] == "ticket.updated":
            return message


def test_two_hundred_sockets_at_once_stay_within_the_bound(daphne, redis_url):
    process, port = daphne
    users = [UserFactory() for _ in range(USERS + 1)]
    watcher, storm_users = users[0], users[1:]
    tokens = {user.pk: sign_in(port, user.username) for user in users}
    client = redis.Redis.from_url(redis_url)

    async def scenario() -> None:
        watch = await open_socket("127.0.0.1", port, tokens[watcher.pk])
        sampler = Sampler(process.pid, client)
        sampler.start()
        results = await asyncio.gather(
            *(open_socket("127.0.0.1", port, tokens[user.pk]) for user in storm_users for _ in range(SOCKETS_PER_USER)),
            return_exceptions=True,
        )
        refused = [result for result in results if isinstance(result, BaseException)]
        assert not refused, refused[:3]

        # Every socket joined its group, and the watcher still hears its own events.
        await push(storm_users[0].pk, 2)
        heard = await asyncio.gather(*(next_event(sock) for sock in results[:SOCKETS_PER_USER]))
        assert {event["payload"]["id"] for event in heard} == {2}
        await push(watcher.pk, 3)
        assert (await next_event(watch))["payload"]["id"] == 3

        await asyncio.gather(*(sock.close() for sock in results))
        total_peak, layer_peak = sampler.stop()
        # Without the bound, each of the 200 joins and leaves borrowed a connection of its own.
        assert 1 <= layer_peak <= BOUND, (total_peak, layer_peak)
        await asyncio.sleep(0.5)
        total_after, layer_after = redis_clients_of(process.pid, client)
        assert layer_after <= BOUND, (total_after, layer_after)
        # The server still delivers once the storm is over.
        await push(watcher.pk, 4)
        assert (await next_event(watch))["payload"]["id"] == 4
        await watch.close()

    asyncio.run(scenario())
