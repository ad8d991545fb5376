"""Fixtures of the realtime tests: each runs on the in-process channel layer, and on the Redis that
REDIS_URL names when it is set (tests/backends.py)."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from helpdesk.core.events import close_delivery_connections
from tests.backends import channel_layer_params, redis_url


@pytest.fixture(params=channel_layer_params())
async def channel_layer(request, settings):
    if request.param == "in-memory":
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    else:
        settings.CHANNEL_LAYERS = {
            "default": {
                # The production layer, its pool smaller than production's: a test's joins, leaves and
                # sends wait for one another's connections, as sockets do in a storm.
                "BACKEND": "helpdesk.core.channel_layer.BoundedRedisChannelLayer",
                "CONFIG": {
                    "hosts": [{"address": redis_url(), "max_connections": 3, "timeout": 10}],
                    # A fresh prefix keeps runs (and parallel test sessions) from hearing each other.
                    "prefix": f"test-{uuid.uuid4().hex[:12]}",
                },
            }
        }
    layer = get_channel_layer()
    expected = "InMemoryChannelLayer" if request.param == "in-memory" else "BoundedRedisChannelLayer"
    assert type(layer).__name__ == expected
    yield layer
    if request.param == "redis":
        # Events sent outside an event loop went through the delivery loop's own connections.
        await database_sync_to_async(close_delivery_connections)(layer)
        await layer.flush()
        await layer.close_pools()
