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

Two more departures, both for a chat message's CPU (bench/README.md, "Chat at 500 messages/s"): a
process's inbox is read by one task of its own (``receive``, ``_read_inbox``), many messages a call,
instead of by whichever consumer happened to be receiving, one message per five round trips; and
pushes from a committing thread (``group_send_blocking``) run their scripts over a connection the
thread keeps rather than one borrowed from redis-py's pool per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterable

import redis
from channels_redis.core import RedisChannelLayer
from redis.asyncio import BlockingConnectionPool

logger = logging.getLogger(__name__)

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


# ``group_send`` from a thread, for many groups, in two scripts per Redis shard (channels_redis's own
# group_send is four round trips per group, each through redis-py's asyncio machinery, on an event
# loop that the thread must hand over to and wait for).
#
# 1. Per group key KEYS[i]: its members (channel names), after dropping memberships older than the
#    group expiry (the last ARGV, as channels_redis does); none when every member is in the group of
#    the frame's origin ARGV[i] (they would each drop it as their own device's echo).
GROUP_MEMBERS_LUA = """
local cutoff = ARGV[#ARGV]
local out = {}
for i, key in ipairs(KEYS) do
    redis.call('ZREMRANGEBYSCORE', key, 0, cutoff)
    local members = redis.call('ZRANGE', key, 0, -1)
    if ARGV[i] ~= '' then
        local shown = false
        for _, member in ipairs(members) do
            if not redis.call('ZSCORE', ARGV[i], member) then
                shown = true
                break
            end
        end
        if not shown then
            members = {}
        end
    end
    out[i] = members
end
return out
"""
# 2. channels_redis's group_send script for every channel key at once: drop its messages older than
#    the expiry, add the message unless the key is at its capacity. KEYS: channel keys (a key may come
#    twice: two messages for one process); ARGV: a message, a capacity and a score per key (scores
#    increase in the order given, so one process pops them in that order), then the expiry.
CHANNELS_ADD_LUA = """
local n = #KEYS
local expiry = tonumber(ARGV[3 * n + 1])
local over = 0
for i = 1, n do
    local score = ARGV[2 * n + i]
    redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, math.floor(tonumber(score)) - expiry)
    if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[n + i]) then
        redis.call('ZADD', KEYS[i], score, ARGV[i])
        redis.call('EXPIRE', KEYS[i], expiry)
    else
        over = over + 1
    end
end
return over
"""


# A process's inbox is read by one task per process (``_read_inbox``) with BZMPOP: it waits for the
# first message and takes up to this many at once. channels_redis instead let whichever consumer was
# receiving pop one message at a time, five Redis round trips each (a cleanup script, BZPOPMIN, a
# ZADD to a backup key and later a ZREM from it, and a script to requeue the backup) plus two tasks
# per wait: ~15 % of daphne's CPU per chat message (bench/README.md). The backup key existed because
# a consumer's receive could be cancelled (its socket closed) with a popped message in hand; the
# reader is never cancelled while the layer is in use, so nothing needs backing up.
RECEIVE_BATCH = 200
# How long a pause after Redis refused or dropped the reader's connection (a restart): the next BZMPOP
# then reconnects. Messages wait in the inbox key meanwhile (Redis's persistence decides what a
# restart keeps; the event log catches up what it did not).
READER_RETRY_SECONDS = 0.5


class BoundedRedisChannelLayer(RedisChannelLayer):
    """``hosts`` entries are dicts: ``{"address": "redis://…", "max_connections": 10, "timeout": 30}``
    (any other key is a redis-py connection option). Each event loop of a process gets its own pool of
    at most ``max_connections``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._live_channels: set[str] = set()  # made here by new_channel, consumer not ended
        self._readers: dict[str, asyncio.Task] = {}  # a process inbox's reader task
        self._thread_connections = threading.local()  # pushes' connections, per thread

    def create_pool(self, index: int) -> BlockingConnectionPool:
        host = dict(self.hosts[index])
        if "address" in host:
            return BlockingConnectionPool.from_url(host.pop("address"), **host)
        return BlockingConnectionPool(**host)

    async def new_channel(self, prefix: str = "specific") -> str:
        # Known from birth: a message for it that arrives before its consumer first receives is
        # kept for it (only messages for channels never made here, or whose consumer ended, are not).
        name = await super().new_channel(prefix)
        self._live_channels.add(name)
        return name

    async def receive(self, channel: str) -> dict:
        """A process-specific channel's next message, from what the process's inbox reader
        (``_read_inbox``) buffered for it. A receive that is cancelled (its consumer ended) forgets
        the channel and what waited for it; nothing else is lost with it."""
        if "!" not in channel:
            return await super().receive(channel)
        assert self.require_valid_channel_name(channel)
        inbox = self.non_local_name(channel)
        assert inbox.endswith(self.client_prefix + "!"), "Wrong client prefix"
        self._live_channels.add(channel)
        self._ensure_reader(inbox)
        buffer = self.receive_buffer[channel]
        try:
            message = await buffer.get()
        except asyncio.CancelledError:
            self._live_channels.discard(channel)
            self.receive_buffer.pop(channel, None)
            raise
        if buffer.empty() and self.receive_buffer.get(channel) is buffer:
            # An idle socket holds no queue (the next message makes one, as channels_redis does).
            del self.receive_buffer[channel]
        return message

    def _ensure_reader(self, inbox: str) -> None:
        loop = asyncio.get_running_loop()
        reader = self._readers.get(inbox)
        if reader is not None and not reader.done():
            if reader.get_loop() is loop:
                return
            if not reader.get_loop().is_closed():
                raise RuntimeError("Two event loops are trying to receive() on one channel layer at once!")
        self._readers[inbox] = loop.create_task(self._read_inbox(inbox), name=f"channel-layer inbox {inbox}")

    async def _read_inbox(self, inbox: str) -> None:
        """Move the process inbox's messages into its channels' buffers, in the order they were
        added, for as long as the process runs (or until the layer is flushed)."""
        key = self.prefix + inbox
        index = self.consistent_hash(inbox)
        while True:
            try:
                popped = await self.connection(index).execute_command(
                    "BZMPOP", self.brpop_timeout, 1, key, "MIN", "COUNT", RECEIVE_BATCH
                )
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
                logger.warning("channel layer inbox %s: %s; reading again shortly", inbox, exc)
                await asyncio.sleep(READER_RETRY_SECONDS)
                continue
            if popped:
                self._buffer([self._unpacked(inbox, content) for content, _score in popped[1]])

    async def flush(self) -> None:
        await self._stop_readers()
        await super().flush()

    async def close_pools(self) -> None:
        await self._stop_readers()
        await super().close_pools()

    async def _stop_readers(self) -> None:
        loop = asyncio.get_running_loop()
        for inbox, reader in list(self._readers.items()):
            if reader.get_loop() is loop:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
                del self._readers[inbox]

    def _unpacked(self, channel: str, content: bytes) -> tuple:
        message = self.deserialize(content)
        if "__asgi_channel__" in message:
            channel = message.pop("__asgi_channel__")
        return channel, message

    def _buffer(self, received: list[tuple]) -> None:
        # Only for channels made here whose consumer has not ended: anything else would sit in a
        # buffer no one reads, for the life of the process.
        for channel, message in received:
            for name in channel if isinstance(channel, list) else [channel]:
                if name in self._live_channels:
                    self.receive_buffer[name].put_nowait(message)

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
            counts = self._run_script(index, REACHABLE_LUA, keys, echo)
            online.update(name for name, count in zip(names, counts, strict=True) if count)
        return online

    def group_send_blocking(
        self, deliveries: list[tuple[str, dict]], origins: dict[str, str] | None = None
    ) -> list[str]:
        """``group_send`` for each ``(group, message)``, from the calling thread with a plain client:
        per Redis shard one script reads every group's members and one adds every message to its
        channel keys, as channels_redis's group_send would (same keys, serialization, capacity and
        expiry, so its ``receive`` reads them). ``origins`` as in ``online_groups_blocking``: a group
        whose every member is a socket of the frame's origin is sent nothing. Returns the groups sent to."""
        origins = origins or {}
        by_shard: dict[int, list[int]] = {}
        for position, (group, _message) in enumerate(deliveries):
            by_shard.setdefault(self.consistent_hash(group), []).append(position)
        members: dict[int, list[str]] = {}
        cutoff = int(time.time()) - int(self.group_expiry)
        for index, positions in by_shard.items():
            groups = [deliveries[position][0] for position in positions]
            echo = [
                self._group_key(origins[group])
                if origins.get(group) and self.consistent_hash(origins[group]) == index
                else b""
                for group in groups
            ]
            found = self._run_script(
                index, GROUP_MEMBERS_LUA, [self._group_key(group) for group in groups], [*echo, cutoff]
            )
            for position, names in zip(positions, found, strict=True):
                members[position] = [name.decode() for name in names]
        adds: dict[int, tuple[list, list, list]] = {}
        sent: list[str] = []
        for position, (group, message) in enumerate(deliveries):
            if not members.get(position):
                continue
            sent.append(group)
            by_connection, key_message, key_capacity = self._map_channel_keys_to_connection(members[position], message)
            for index, keys in by_connection.items():
                add_keys, add_messages, add_capacities = adds.setdefault(index, ([], [], []))
                for key in keys:
                    add_keys.append(key)
                    add_messages.append(key_message[key])
                    add_capacities.append(key_capacity[key])
        for index, (add_keys, add_messages, add_capacities) in adds.items():
            now = time.time()
            scores = [f"{now + n * 1e-6:.6f}" for n in range(len(add_keys))]
            over = self._run_script(
                index, CHANNELS_ADD_LUA, add_keys, [*add_messages, *add_capacities, *scores, int(self.expiry)]
            )
            if over:
                logger.info("%s of %s channel keys over capacity", over, len(add_keys))
        return sent

    def _run_script(self, index: int, source: str, keys: list, args: list):
        """EVALSHA of ``source`` on shard ``index`` from the calling thread, over a connection the
        thread keeps. redis-py's client borrows a pooled connection and hands it back on every call
        (a lock, a readiness poll, argument shims): ~87 µs of CPU per call against ~41 µs on a kept
        connection, and a chat message makes two such calls (bench/README.md). A connection that broke
        (Redis restarted) is opened once more; a script Redis no longer knows is loaded again."""
        connection = self._thread_connection(index)
        broken = False
        while True:
            try:
                connection.send_command("EVALSHA", _sha1(source), len(keys), *keys, *args)
                return connection.read_response()
            except redis.exceptions.NoScriptError:
                connection.send_command("SCRIPT", "LOAD", source)
                connection.read_response()
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                connection.disconnect()
                if broken:
                    raise
                broken = True

    def _thread_connection(self, index: int) -> redis.connection.AbstractConnection:
        # Per thread (a connection serves one command at a time) and per process (a forked worker,
        # Celery's prefork pool, opens its own); a thread's connection closes when the thread ends.
        kept = self._thread_connections.__dict__
        key = (os.getpid(), index)
        if key not in kept:
            host = dict(self.hosts[index])
            timeout = host.get("socket_connect_timeout") or 2
            options = {"socket_connect_timeout": timeout, "socket_timeout": timeout, "client_name": "helpdesk-push"}
            if "address" in host:  # redis-py reads the URL; its pool only hands over the options
                pool = redis.ConnectionPool.from_url(host["address"], **options)
            else:
                pool = redis.ConnectionPool(
                    **{k: v for k, v in host.items() if k not in ("max_connections", "timeout")} | options
                )
            kept[key] = pool.connection_class(**pool.connection_kwargs)
        return kept[key]


@functools.cache
def _sha1(source: str) -> str:
    return hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1
