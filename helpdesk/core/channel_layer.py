"""channels_redis's RedisChannelLayer with a bounded connection pool that waits when all are busy.

channels_redis builds each event loop's pool with redis-py's plain ``ConnectionPool`` and no
``max_connections``: every ``group_add`` on connect and ``group_discard`` on disconnect borrows a
connection, and a storm of sockets opening or closing at once borrows one per socket. The pool keeps
them all (Redis's ``timeout`` is 0), so one storm left a daphne process holding ~1,900 connections
for good. ``max_connections`` alone is no fix: the plain pool then raises "Too many connections"
(redis-py issue #2517) and the socket is refused. redis-py's ``BlockingConnectionPool`` waits for a
free connection instead; the layer's ``create_pool`` hook is where channels_redis makes its pools, and
the pool's options (``max_connections``, ``timeout``: how long to wait before giving up) come from
the ``hosts`` entry as channels_redis passes them, so settings choose the bound.

Why not channels_redis's RedisPubSubChannelLayer (two connections per loop, whatever the load)? It
delivers at most once: a message published while its subscriber connection is down or resubscribing
is gone, silently, while the socket stays open (channels_redis issue #256; the on_disconnect hook
that could have told the consumer was dropped, #406). This layer's messages wait in Redis (``expiry``)
for the process to pop them after a blip. bench/README.md ("Websocket storms") has the figures.
"""

from __future__ import annotations

from channels_redis.core import RedisChannelLayer
from redis.asyncio import BlockingConnectionPool


class BoundedRedisChannelLayer(RedisChannelLayer):
    """``hosts`` entries are dicts: ``{"address": "redis://…", "max_connections": 10, "timeout": 30}``
    (any other key is a redis-py connection option). Each event loop of a process gets its own pool of
    at most ``max_connections``."""

    def create_pool(self, index: int) -> BlockingConnectionPool:
        host = dict(self.hosts[index])
        if "address" in host:
            return BlockingConnectionPool.from_url(host.pop("address"), **host)
        return BlockingConnectionPool(**host)
