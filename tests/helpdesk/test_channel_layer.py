"""The Redis channel layer's pushes from a committing thread (``group_send_blocking``), over the
connection each thread keeps: they must survive Redis forgetting the scripts and the connection
breaking (a Redis restart), or events would wait for the next ping's catch-up."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis

from helpdesk.core.channel_layer import BoundedRedisChannelLayer
from tests.backends import require_redis_url


@pytest.fixture
def layer():
    url = require_redis_url()
    layer = BoundedRedisChannelLayer(hosts=[{"address": url}], prefix=f"test-{uuid.uuid4().hex[:12]}")
    yield layer, redis.Redis.from_url(url)
    asyncio.run(layer.flush())


def receive(layer: BoundedRedisChannelLayer, channel: str) -> dict:
    async def _receive() -> dict:
        try:
            return await asyncio.wait_for(layer.receive(channel), timeout=5)
        finally:
            await layer.close_pools()

    return asyncio.run(_receive())


def new_channel(layer: BoundedRedisChannelLayer, group: str) -> str:
    async def _add() -> str:
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        await layer.close_pools()
        return channel

    return asyncio.run(_add())


def push_connection_ids(client: redis.Redis) -> list[int]:
    return [c["id"] for c in client.client_list() if c.get("name") == "helpdesk-push"]


def test_a_push_reaches_the_group_after_redis_forgot_its_scripts_and_dropped_the_connection(layer):
    layer, client = layer
    channel = new_channel(layer, "people")
    assert layer.group_send_blocking([("people", {"type": "x.event", "n": 1})]) == ["people"]
    assert receive(layer, channel)["n"] == 1

    client.script_flush()  # as after a restart without persistence of scripts
    assert layer.group_send_blocking([("people", {"type": "x.event", "n": 2})]) == ["people"]
    assert receive(layer, channel)["n"] == 2

    before = push_connection_ids(client)  # this thread's, and any other layer's of this process
    assert before, "the push keeps its connection between calls"
    for connection_id in before:
        client.client_kill_filter(_id=connection_id)
    assert layer.group_send_blocking([("people", {"type": "x.event", "n": 3})]) == ["people"]
    assert receive(layer, channel)["n"] == 3
    assert not set(push_connection_ids(client)) & set(before), "a new connection replaced the broken one"


def test_each_thread_keeps_its_own_connection_until_it_ends(layer):
    import threading

    layer, client = layer
    new_channel(layer, "people")
    seen: list[str] = []
    pushed, release = threading.Barrier(4), threading.Event()

    def push() -> None:
        seen.extend(layer.group_send_blocking([("people", {"type": "x.event"})]))
        pushed.wait(timeout=10)
        release.wait(timeout=10)

    # Other layers of this test process (the settings' own) may hold connections of their own.
    others = set(push_connection_ids(client))
    threads = [threading.Thread(target=push) for _ in range(3)]
    for thread in threads:
        thread.start()
    pushed.wait(timeout=10)
    opened = set(push_connection_ids(client)) - others
    assert len(opened) == 3
    release.set()
    for thread in threads:
        thread.join()
    assert seen == ["people"] * 3
    for _ in range(50):  # the server sees the closes a moment later
        if not opened & set(push_connection_ids(client)):
            break
        threading.Event().wait(0.05)
    assert not opened & set(push_connection_ids(client)), "an ended thread's connection is closed, not leaked"


# --- The process inbox's reader ----------------------------------------------------------------------


@pytest.fixture
async def async_layer():
    url = require_redis_url()
    layer = BoundedRedisChannelLayer(hosts=[{"address": url}], prefix=f"test-{uuid.uuid4().hex[:12]}", capacity=1000)
    yield layer, redis.Redis.from_url(url)
    await layer.flush()


async def test_messages_reach_their_channels_in_order_also_when_sent_before_the_first_receive(async_layer):
    layer, _client = async_layer
    early, other = await layer.new_channel(), await layer.new_channel()
    for n in range(450):  # more than one read's batch
        await layer.send(early if n % 3 else other, {"type": "x.event", "n": n})
    got_early = [(await asyncio.wait_for(layer.receive(early), 5))["n"] for _ in range(300)]
    got_other = [(await asyncio.wait_for(layer.receive(other), 5))["n"] for _ in range(150)]
    assert got_early == [n for n in range(450) if n % 3]
    assert got_other == [n for n in range(450) if not n % 3]


async def test_a_channel_whose_consumer_ended_keeps_nothing(async_layer):
    layer, _client = async_layer
    gone, kept = await layer.new_channel(), await layer.new_channel()
    waiting = asyncio.ensure_future(layer.receive(gone))
    await asyncio.sleep(0.05)
    waiting.cancel()  # the socket closed
    await asyncio.gather(waiting, return_exceptions=True)
    await layer.send(gone, {"type": "x.event", "n": 1})
    await layer.send(kept, {"type": "x.event", "n": 2})
    assert (await asyncio.wait_for(layer.receive(kept), 5))["n"] == 2
    assert gone not in layer.receive_buffer, "nothing is buffered for a channel no one will read"


async def test_the_reader_carries_on_after_its_redis_connection_was_dropped(async_layer):
    layer, client = async_layer
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "x.event", "n": 1})
    assert (await asyncio.wait_for(layer.receive(channel), 5))["n"] == 1
    waiting = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0.1)  # the reader waits in BZMPOP
    blocked = [c["id"] for c in client.client_list() if c.get("cmd") == "bzmpop"]
    assert blocked
    for connection_id in blocked:
        client.client_kill_filter(_id=connection_id)
    await asyncio.sleep(0.1)
    await layer.send(channel, {"type": "x.event", "n": 2})
    assert (await asyncio.wait_for(waiting, 5))["n"] == 2
