"""Fixtures of the realtime tests: each runs on the in-process channel layer and on Redis."""

from __future__ import annotations

import os
import uuid

import pytest
import redis
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from helpdesk.core.events import close_delivery_connections

REDIS_DEFAULT_URL = "redis://127.0.0.1:6379/0"


def _redis_url_or_skip() -> str:
    """Redis is required in CI and whenever REDIS_URL is set; elsewhere it is used if it answers."""
    url = os.environ.get("REDIS_URL") or REDIS_DEFAULT_URL
    required = bool(os.environ.get("REDIS_URL") or os.environ.get("CI"))
    if not required:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        except redis.exceptions.ConnectionError:
            pytest.skip(f"Redis does not answer at {url}; set REDIS_URL to run the Redis channel layer tests")
    return url


@pytest.fixture(params=["in-memory", "redis"])
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
                    "hosts": [{"address": _redis_url_or_skip(), "max_connections": 3, "timeout": 10}],
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
