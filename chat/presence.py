"""在线 / 离线: whether a user has a socket open on any device, in any server process.

Each open socket is one member of the user's sorted set in Redis, scored with the time it expires;
connecting adds it, every ping (browsers ping every 25 s) pushes the expiry on, disconnecting removes
it. A user is online while any member is unexpired, so a process that dies without closing its
sockets stops counting after ``TTL``. The online/offline moments are found by the same atomic
script that adds or removes the socket, so two processes never both announce one change.

Without Redis (the embedded default: one web process) the same bookkeeping lives in this process.
"""

from __future__ import annotations

import asyncio
import threading
import time

from django.conf import settings

# Seconds a socket counts as present after its last sign of life (a ping every 25 s, so two may be
# missed before a user shows as offline).
TTL = 75
PREFIX = "helpdesk:chat:presence:"

# Add a socket: drop expired ones, add it; returns how many live sockets there were before.
_ARRIVE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local before = redis.call('ZCARD', KEYS[1])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return before
"""
# Remove a socket: returns {removed, live sockets left}.
_LEAVE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local removed = redis.call('ZREM', KEYS[1], ARGV[2])
return {removed, redis.call('ZCARD', KEYS[1])}
"""


def _redis_url() -> str:
    return getattr(settings, "REDIS_URL", "") or ""


# --- Without Redis: this process's sockets -------------------------------------------------------
_local: dict[int, dict[str, float]] = {}
_local_lock = threading.Lock()


def _local_arrive(user_id: int, member: str, now: float) -> int:
    with _local_lock:
        sockets = {key: until for key, until in _local.get(user_id, {}).items() if until > now}
        before = len(sockets)
        sockets[member] = now + TTL
        _local[user_id] = sockets
        return before


def _local_leave(user_id: int, member: str, now: float) -> tuple[int, int]:
    with _local_lock:
        sockets = {key: until for key, until in _local.get(user_id, {}).items() if until > now}
        removed = 1 if sockets.pop(member, None) is not None else 0
        if sockets:
            _local[user_id] = sockets
        else:
            _local.pop(user_id, None)
        return removed, len(sockets)


# --- With Redis -----------------------------------------------------------------------------------
_async_clients: dict[asyncio.AbstractEventLoop, object] = {}
_sync_client = None
_sync_lock = threading.Lock()


def _async_client():
    """One client per event loop (a redis.asyncio connection belongs to the loop that opened it)."""
    import redis.asyncio

    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        for known in [known for known in _async_clients if known.is_closed()]:
            _async_clients.pop(known, None)
        client = _async_clients[loop] = redis.asyncio.from_url(
            _redis_url(), socket_timeout=settings.REDIS_TIMEOUT, socket_connect_timeout=settings.REDIS_TIMEOUT
        )
    return client


def _client():
    global _sync_client
    import redis

    with _sync_lock:
        if _sync_client is None or getattr(_sync_client, "_helpdesk_url", None) != _redis_url():
            _sync_client = redis.from_url(
                _redis_url(), socket_timeout=settings.REDIS_TIMEOUT, socket_connect_timeout=settings.REDIS_TIMEOUT
            )
            _sync_client._helpdesk_url = _redis_url()
        return _sync_client


async def arrive(user_id: int, member: str) -> bool:
    """A socket of the user opened (or pinged): True when the user was offline until now."""
    now = time.time()
    if not _redis_url():
        return _local_arrive(user_id, member, now) == 0
    before = await _async_client().eval(_ARRIVE, 1, f"{PREFIX}{user_id}", now, now + TTL, member, TTL * 2)
    return int(before) == 0


async def leave(user_id: int, member: str) -> bool:
    """A socket of the user closed: True when it was the user's last one."""
    now = time.time()
    if not _redis_url():
        removed, left = _local_leave(user_id, member, now)
    else:
        removed, left = await _async_client().eval(_LEAVE, 1, f"{PREFIX}{user_id}", now, member)
    return bool(int(removed)) and int(left) == 0


def online(user_ids: list[int]) -> dict[int, bool]:
    """Each user: has a live socket anywhere."""
    now = time.time()
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    if not _redis_url():
        with _local_lock:
            return {uid: any(until > now for until in _local.get(uid, {}).values()) for uid in ids}
    pipe = _client().pipeline(transaction=False)
    for uid in ids:
        pipe.zcount(f"{PREFIX}{uid}", f"({now}", "+inf")
    return {uid: bool(count) for uid, count in zip(ids, pipe.execute(), strict=True)}
