"""The one way services push realtime events to users.

Events are stored and sent after the surrounding transaction commits, so a client never hears of
something that was rolled back. Each event is first written to the recipient's event log
(helpdesk.core.eventlog) with the user's next event id, then pushed; a socket that reconnects with
the last id it saw receives what it missed from the log (helpdesk.core.consumers).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
from collections.abc import Iterable
from contextvars import ContextVar, Token
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import event_types
from .channel_layer import MEMBERS_LUA

logger = logging.getLogger(__name__)


# The close code of a socket whose session, token or account has ended. The client must not reconnect
# with the same credentials (static/js/realtime.js stops); it is the websocket analogue of HTTP 401.
SESSION_ENDED_CLOSE_CODE = 4401


# The credential group (session_group_name / token_group_name) of the request being served, set by
# the authentication layer. Events caused by that request are stored with it as their origin, and the
# socket opened with the same credential does not receive them (no echo to the device that acted;
# the user's other devices still get them). Empty outside a request (Celery, the sweep).
_event_origin: ContextVar[str] = ContextVar("helpdesk_event_origin", default="")


def set_event_origin(credential_group: str) -> Token:
    """Mark the current request's events as caused by ``credential_group``; returns the token to
    pass to ``reset_event_origin`` when the request ends."""
    return _event_origin.set(credential_group)


def reset_event_origin(token: Token) -> None:
    _event_origin.reset(token)


def current_event_origin() -> str:
    return _event_origin.get()


def user_group_name(user_id: int) -> str:
    return f"user.{user_id}"


def _digest(secret: str) -> str:
    # Group names are stored in Redis in clear; a session key or token must not be readable there.
    return hashlib.sha256(secret.encode()).hexdigest()[:40]


def session_group_name(session_key: str) -> str:
    """Every socket a browser opened with this session cookie."""
    return f"session.{_digest(session_key)}"


def token_group_name(token_key: str) -> str:
    """Every socket a mobile client opened with this API token."""
    return f"token.{_digest(token_key)}"


def close_sockets(*, groups: Iterable[str], reason: str) -> None:
    """After commit, end every socket in ``groups``: each is told ``session.ended`` with ``reason`` and
    closed with SESSION_ENDED_CLOSE_CODE. Used when a session signs out, a token is revoked or an
    account is deactivated; a socket is not a credential that outlives the one it was opened with."""
    _deliver_on_commit([(group, {"type": "session.close", "reason": reason}) for group in sorted(set(groups))])


def send_event(*, user_ids: Iterable[int], event_type: str, payload: dict[str, Any]) -> None:
    """After commit, store ``event_type`` with ``payload`` in each user's event log (numbered per
    user) and push it to every connection of each user."""
    send_events([(user_ids, event_type, payload)])


def send_events(events: Iterable[tuple[Iterable[int], str, dict[str, Any]]]) -> None:
    """Store and push many events after commit in one go: a sweep that changes a thousand tickets
    pays one log write and one event-loop round trip, not one per recipient. Each user's events keep
    the order given here."""
    items: list[tuple[int, str, dict[str, Any]]] = []
    unstored: list[tuple[str, dict[str, Any]]] = []
    origin = current_event_origin()
    for user_ids, event_type, payload in events:
        if _declared(event_type, payload).resumable:
            items.extend(_per_recipient(user_ids, event_type, payload))
        else:
            frame = {"type": event_type, "payload": payload, "sent_at": timezone.localtime().isoformat()}
            unstored.extend(
                (user_group_name(user_id), {"type": "platform.event", "event": frame, "origin": origin})
                for user_id in sorted(set(user_ids))
            )
    _deliver_on_commit(unstored)
    if not items:
        return

    def _store_and_push() -> None:
        from . import eventlog

        try:
            stored = eventlog.store(items, origin=origin)
        except Exception:  # the change has committed; a client that resumes reloads it over REST
            logger.exception("could not store %d realtime events", len(items))
            return
        _push(_frames(stored))

    transaction.on_commit(_store_and_push)


def outgoing_items(
    events: Iterable[tuple[Iterable[int], str, dict[str, Any]]],
) -> list[tuple[int, str, dict[str, Any]]]:
    """``send_events``' input as the event log's items, one per recipient, for a service that stores
    its events in its own statement (``eventlog.STORE_CTES``). Only resumable types are stored."""
    items = []
    for user_ids, event_type, payload in events:
        if not _declared(event_type, payload).resumable:
            raise ValueError(f"{event_type!r} is not resumable: send it with send_events")
        items.extend(_per_recipient(user_ids, event_type, payload))
    return items


def _declared(event_type: str, payload: dict[str, Any]) -> event_types.EventType:
    """The type as an app's events.py declares it (an undeclared one raises); with
    HELPDESK_VALIDATE_EVENTS (the tests) the payload is checked against its schema too."""
    declared = event_types.get(event_type)
    if getattr(settings, "HELPDESK_VALIDATE_EVENTS", False):
        event_types.validate(event_type, payload)
    return declared


def _per_recipient(
    user_ids: Iterable[int], event_type: str, payload: dict[str, Any]
) -> list[tuple[int, str, dict[str, Any]]]:
    return [(user_id, event_type, payload) for user_id in sorted(set(user_ids))]


def push_stored(stored: list) -> None:
    """After commit, push events a service's own statement already stored (``eventlog.STORE_CTES``)."""
    if stored:
        deliveries = _frames(stored)
        transaction.on_commit(lambda: _push(deliveries))


def push_stored_shared(group: str, stored: list, *, personal: tuple[str, ...] = ()) -> None:
    """After commit, push events a statement stored for many users as ONE ``group_send`` to
    ``group``, a group the sockets of those users joined (``join_sockets``; a chat group's
    conversation): each socket picks its user's event id and the payload keys ``personal`` (a chat
    message's ``unread``) out of the one frame and delivers the same frame the event log holds. A
    2,000-member group's message is then one message in Redis per process instead of 2,000, each
    popped and dispatched on its own.

    The events must differ only in their user, id and ``personal`` keys. A recipient's socket that is
    not in ``group`` gets its event from the log (on its next event or ping): a user who is no longer a
    recipient (removed from the group) is not in the list and gets nothing, at once."""
    if not stored:
        return
    first = stored[0]
    shared = {key: value for key, value in first.payload.items() if key not in personal}
    if getattr(settings, "HELPDESK_VALIDATE_EVENTS", False):
        for event in stored:
            if event.type != first.type or {k: v for k, v in event.payload.items() if k not in personal} != shared:
                raise ValueError("push_stored_shared: the events differ in more than their personal keys")
    frame = first.frame()
    del frame["id"]
    frame["payload"] = shared
    message = {
        "type": "platform.shared_event",
        "event": frame,
        # Keys are text: the channel layer's msgpack refuses integer map keys.
        "recipients": {str(event.user_id): [event.seq, {k: event.payload[k] for k in personal}] for event in stored},
        "origin": first.origin,
    }
    _deliver_on_commit([(group, message)])


def join_sockets(*, user_ids: Iterable[int], groups: Iterable[str]) -> None:
    """After commit, every socket of these users joins ``groups`` (and reads its event log, for what
    was pushed to them before it joined): a member just added to a chat group."""
    groups = sorted(set(groups))
    _deliver_on_commit(
        [(user_group_name(uid), {"type": "platform.join", "groups": groups}) for uid in sorted(set(user_ids))]
    )


def leave_sockets(*, user_ids: Iterable[int], groups: Iterable[str]) -> None:
    """After commit, every socket of these users leaves ``groups`` (a member removed from a chat group;
    what is pushed there no longer lists them in any case)."""
    groups = sorted(set(groups))
    _deliver_on_commit(
        [(user_group_name(uid), {"type": "platform.leave", "groups": groups}) for uid in sorted(set(user_ids))]
    )


def _frames(stored: list) -> list[tuple[str, dict[str, Any]]]:
    return [
        (user_group_name(event.user_id), {"type": "platform.event", "event": event.frame(), "origin": event.origin})
        for event in stored
    ]


def send_group_event(
    *, groups: Iterable[str], subscriber: str, event_type: str, payload: dict[str, Any], key: str = ""
) -> None:
    """After commit, push ``event_type`` to every socket in ``groups`` (audience groups that the
    subscriber ``subscriber`` of helpdesk.core.subscriptions adds), where that subscriber's filter
    accepts the payload for the socket's user. One ``group_send`` per group however large the audience;
    nothing is stored, so the type must be declared ``resumable=False`` (clients catch up through its
    ``resync_via`` list). ``key`` lets a socket that is in several of the groups get the frame once."""
    if _declared(event_type, payload).resumable:
        raise ValueError(f"{event_type!r} is resumable: send it to users with send_event")
    frame = {"type": event_type, "payload": payload, "sent_at": timezone.localtime().isoformat()}
    message = {
        "type": "platform.group_event",
        "subscriber": subscriber,
        "event": frame,
        "origin": current_event_origin(),
        "key": key,
    }
    _deliver_on_commit([(group, message) for group in dict.fromkeys(groups)])


def _deliver_on_commit(deliveries: list[tuple[str, dict[str, Any]]]) -> None:
    if deliveries:
        transaction.on_commit(lambda: _push(deliveries))


def _push(deliveries: list[tuple[str, dict[str, Any]]]) -> None:
    if not deliveries:
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        if _crosses_loops(layer):
            # A frame its origin's sockets would drop is not sent where only they listen.
            origins: dict[str, str] = {}
            for group, message in deliveries:
                origin = message.get("origin") or ""
                origins[group] = origin if origins.get(group, origin) == origin else ""
            if hasattr(layer, "group_send_blocking"):
                # From this thread, two scripts per shard: no hand-over to the delivery loop.
                layer.group_send_blocking(deliveries, origins)
                return
            if hasattr(layer, "online_groups_blocking"):
                online = layer.online_groups_blocking(set(origins), origins)
                deliveries = [(group, message) for group, message in deliveries if group in online]
                if not deliveries:
                    return
            asyncio.run_coroutine_threadsafe(_deliver(layer, deliveries), _delivery_loop()).result(
                timeout=DELIVERY_TIMEOUT
            )
        else:
            async_to_sync(_deliver)(layer, deliveries)
    except Exception:  # a realtime hiccup must not break the write that already committed
        # The events are stored: a socket that missed them gets them when it pings or reconnects.
        logger.exception("could not push %d realtime events", len(deliveries))


DELIVERY_TIMEOUT = 10  # seconds; a stalled Redis must not hold a request for longer

_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None
_loop_thread: threading.Thread | None = None
_loop_lock = threading.Lock()


def _crosses_loops(layer) -> bool:
    """channels_redis keeps a connection pool per event loop, so it can deliver from a loop of our own
    (so can helpdesk.core.channel_layer's layer, built on it). The in-memory layer's queues belong to
    the server's loop: it goes through ``async_to_sync``."""
    return any(cls.__module__.startswith("channels_redis.") for cls in type(layer).__mro__)


def _delivery_loop() -> asyncio.AbstractEventLoop:
    """One event loop per process, in a daemon thread, for handing events to Redis. Outside an ASGI
    server ``async_to_sync`` would start a thread and a loop, and open a Redis connection, on every
    call; this loop keeps its connections. A forked process (Celery's prefork pool) starts its own."""
    global _loop, _loop_pid, _loop_thread
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid() or not _loop_thread.is_alive():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="realtime-delivery", daemon=True)
            thread.start()
            _loop, _loop_pid, _loop_thread = loop, os.getpid(), thread
        return _loop


async def _online_groups(layer, groups: set[str]) -> set[str]:
    """The groups that have a connection, one round trip per Redis shard. channels_redis's group_send
    costs two round trips even for a group without members, and most addressed users are offline:
    the SLA sweep's thousands of events took ~0.5 s of a run's hand-over that way. A user who
    connects right after this check misses the event as one who connects right after a send would,
    and catches up over REST."""
    by_shard: dict[int, list[str]] = {}
    for group in groups:
        by_shard.setdefault(layer.consistent_hash(group), []).append(group)
    online: set[str] = set()
    for index, names in by_shard.items():
        keys = [layer._group_key(name) for name in names]
        counts = await layer.connection(index).eval(MEMBERS_LUA, len(keys), *keys)
        online.update(name for name, count in zip(names, counts, strict=True) if count)
    return online


async def _deliver(layer, deliveries: list[tuple[str, dict[str, Any]]]) -> None:
    if _crosses_loops(layer) and not hasattr(layer, "online_groups_blocking"):  # else asked before
        online = await _online_groups(layer, {group for group, _ in deliveries})
        deliveries = [(group, message) for group, message in deliveries if group in online]
    results = await asyncio.gather(
        *(layer.group_send(group, message) for group, message in deliveries), return_exceptions=True
    )
    for (group, message), result in zip(deliveries, results, strict=True):
        if isinstance(result, Exception):
            logger.error("could not push %s to %s: %r", message.get("event", message)["type"], group, result)


def close_delivery_connections(layer) -> None:
    """Close the connections ``layer`` holds for the delivery loop (a test's layer is thrown away
    after the test; its pools must be closed from the loop that opened them)."""
    if _loop is None or _loop_pid != os.getpid() or not _loop_thread.is_alive():
        return

    async def _close() -> None:
        # channels_redis keeps one set of pools per event loop, keyed by the loop.
        own = getattr(layer, "_layers", {}).pop(asyncio.get_running_loop(), None)
        if own is not None:
            await own.flush()

    asyncio.run_coroutine_threadsafe(_close(), _loop).result(timeout=DELIVERY_TIMEOUT)
