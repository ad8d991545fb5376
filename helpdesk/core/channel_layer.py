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

import os
from collections.abc import Iterable

import redis
from channels_redis.core import RedisChannelLayer
from redis.asyncio import BlockingConnectionPool

# The member count of each group key, in one command (a pipeline costs redis-py Python per command).
MEMBERS_LUA = "local n = {} for i, key in ipairs(KEYS) do n[i] = redis.call('ZCARD', key) end return n"

# Per group key (KEYS[i]): 1 when a frame sent there reaches a socket that would show it, else 0.
# ARGV[i] is the key of the group of the credential the frame came from ("" for none): a socket in it
# drops the frame as its own device's echo (helpdesk.core.consumers), so a group whose every member is
# in it (the sender's only device, the usual case in a chat) is sent nothing.
REACHABLE_LUA = """
local out = {}
for i, key in ipairs(KEYS) do
    if ARGV[i] == '' then
        out[i] = redis.call('ZCARD', key) > 0 and 1 or 0
    else
        out[i] = 0
        for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do
            if not redis.call('ZSCORE', ARGV[i], member) then
                out[i] = 1
                break
            end
        end
    end
end
return out
"""


class BoundedRedisChannelLayer(RedisChannelLayer):
    """``hosts`` entries are dicts: ``{"address": "redis://…", "max_connections": 10, "timeout": 30}``
    (any other key is a redis-py connection option). Each event loop of a process gets its own pool of
    at most ``max_connections``."""

    def create_pool(self, index: int) -> BlockingConnectionPool:
        host = dict(self.hosts[index])
        if "address" in host:
            return BlockingConnectionPool.from_url(host.pop("address"), **host)
        return BlockingConnectionPool(**host)

    def online_groups_blocking(self, groups: Iterable[str], origins: dict[str, str] | None = None) -> set[str]:
        """The groups that have a connection, asked from the calling thread with a plain (blocking)
        client: one EVALSHA per Redis shard. Services push after commit from request threads; most
        addressed users are offline, and asking here spares those pushes the hand-over to the
        delivery loop's thread and back (~0.3 ms of CPU per create: bench/README.md).

        ``origins`` maps a group to the credential group its frame came from: such a group counts
        only when it has a socket outside that one (the others drop the frame as their own echo). A
        chat message's sender, on one device, is then sent nothing: half the pushes of a one-to-one."""
        origins = origins or {}
        by_shard: dict[int, list[str]] = {}
        for group in groups:
            by_shard.setdefault(self.consistent_hash(group), []).append(group)
        online: set[str] = set()
        for index, names in by_shard.items():
            keys = [self._group_key(name) for name in names]
            # An origin group on another shard cannot be read by the same script: not used then.
            echo = [
                self._group_key(origins[name])
                if origins.get(name) and self.consistent_hash(origins[name]) == index
                else b""
                for name in names
            ]
            counts = self._members_script(index)(keys=keys, args=echo)
            online.update(name for name, count in zip(names, counts, strict=True) if count)
        return online

    def _members_script(self, index: int):
        # One client per process and shard: a forked worker (Celery's prefork pool) makes its own.
        cache = self.__dict__.setdefault("_blocking_scripts", {})
        key = (os.getpid(), index)
        if key not in cache:
            host = dict(self.hosts[index])
            timeout = host.get("socket_connect_timeout") or 2
            options = {"socket_connect_timeout": timeout, "socket_timeout": timeout, "client_name": "helpdesk-push"}
            if "address" in host:
                client = redis.Redis.from_url(host["address"], **options)
            else:
                kept = {k: v for k, v in host.items() if k not in ("max_connections", "timeout", "client_name")}
                client = redis.Redis(**(kept | options))
            cache[key] = client.register_script(REACHABLE_LUA)
        return cache[key]
