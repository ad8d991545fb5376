"""The per-user event log behind resumable realtime.

Every event addressed to users is written here (after the change that caused it has committed) with
each recipient's next sequence number, then pushed. A socket that reconnects with the last id it saw
is sent what it missed from here, in order, exactly once (helpdesk.core.consumers). Sequence numbers
are handed out by one upsert on the user's cursor row in the same transaction as the rows, so they
are contiguous per user and a user's events are stored in the order they are numbered: a gap between
the id a client saw and the oldest stored event means events were pruned, and the client is told to
resync instead of being sent a history with a hole in it.

Why after commit, in a transaction of its own: the cursor row is locked until the writing
transaction ends. Inside the change's own transaction, a sweep that warns a supervisor about a
thousand tickets would hold that supervisor's cursor for the whole sweep and block every action that
notifies them. After commit the lock lasts two statements. The price: a process that dies between the
change's commit and this write loses those events (the change itself is kept); clients that resume
after that see the change over REST.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from .db import fetch_prepared
from .models import EventCursor, StoredEvent

# Cursor upserts per statement: a sweep's thousands of recipients in a few statements, each well
# under SQLite's 32,766 bound parameters.
_CHUNK = 2000

_UPSERT_CURSORS = """
INSERT INTO core_eventcursor (user_id, last_seq) VALUES {values}
ON CONFLICT (user_id) DO UPDATE SET last_seq = core_eventcursor.last_seq + excluded.last_seq
RETURNING user_id, last_seq
"""


def retention() -> timedelta:
    """How long stored events are kept: resuming from an older id is answered with a resync."""
    return timedelta(hours=getattr(settings, "HELPDESK_EVENT_RETENTION_HOURS", 48))


def replay_limit() -> int:
    """The most events one reconnect replays; a client further behind reloads over REST instead."""
    return getattr(settings, "HELPDESK_EVENT_REPLAY_LIMIT", 5000)


@dataclass(frozen=True)
class Event:
    user_id: int
    seq: int
    type: str
    payload: dict[str, Any]
    origin: str
    created_at: datetime

    def frame(self) -> dict[str, Any]:
        """What the client receives: its per-user id, the type, the payload and when (API time zone)."""
        return {
            "id": self.seq,
            "type": self.type,
            "payload": self.payload,
            "sent_at": timezone.localtime(self.created_at).isoformat(),
        }


# PostgreSQL: the cursors' upsert and the events' insert as CTEs of one statement (one round trip,
# atomic without a transaction block of its own). The statement defines ``event_items (user_id, ord,
# type, payload)``; these number them as the Python path does (each user's events in ``ord`` order,
# ending at the cursor's new value) and store them. Parameters: the origin, the time. The cursors'
# new values are in ``event_cursors (user_id, last_seq)``. Used by ``store`` and by a service whose
# own statement stores its events with its change (the ticket create: tickets.sql).
STORE_CTES = """
event_counts AS (SELECT user_id, count(*) AS n FROM event_items GROUP BY user_id),
event_cursors AS (
    INSERT INTO core_eventcursor (user_id, last_seq)
    SELECT user_id, n FROM event_counts ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET last_seq = core_eventcursor.last_seq + excluded.last_seq
    RETURNING user_id, last_seq
),
event_stored AS (
    INSERT INTO core_storedevent (user_id, seq, type, payload, origin, created_at)
    SELECT event_items.user_id,
           event_cursors.last_seq - event_counts.n
               + row_number() OVER (PARTITION BY event_items.user_id ORDER BY event_items.ord),
           event_items.type, event_items.payload, %s::varchar, %s::timestamptz
    FROM event_items JOIN event_counts USING (user_id) JOIN event_cursors USING (user_id)
)"""

# The cursors' new values as one JSON column ``[[user_id, last_seq], …]`` of such a statement's answer.
CURSORS_COLUMN = "(SELECT json_agg(json_build_array(user_id, last_seq)) FROM event_cursors)"

_STORE_PG = (
    "WITH event_items (user_id, ord, type, payload) AS (VALUES {values}),"  # noqa: S608 (placeholders only)
    + STORE_CTES
    + " SELECT user_id, last_seq FROM event_cursors"
)


def store(items: list[tuple[int, str, dict[str, Any]]], *, origin: str = "") -> list[Event]:
    """Number and store ``(user_id, type, payload)`` items, in the order given per user."""
    if not items:
        return []
    counts = Counter(user_id for user_id, _type, _payload in items)
    now = timezone.now()
    if connection.vendor == "postgresql" and len(items) <= _CHUNK and not connection.in_atomic_block:
        return _store_in_one_statement(items, counts, origin=origin, now=now)
    with transaction.atomic():
        events = _numbered(items, counts, _advance_cursors(counts), origin=origin, now=now)
        StoredEvent.objects.bulk_create(
            [
                StoredEvent(
                    user_id=event.user_id,
                    seq=event.seq,
                    type=event.type,
                    payload=event.payload,
                    origin=event.origin,
                    created_at=now,
                )
                for event in events
            ],
            batch_size=_CHUNK,
        )
    return events


def _store_in_one_statement(
    items: list[tuple[int, str, dict[str, Any]]], counts: Counter, *, origin: str, now: datetime
) -> list[Event]:
    values = ", ".join(["(%s::bigint, %s::int, %s::varchar, %s::jsonb)"] * len(items))
    params: list[Any] = []
    for ord_, (user_id, event_type, payload) in enumerate(items):
        params.extend((user_id, ord_, event_type, json.dumps(payload, cls=DjangoJSONEncoder)))
    # Prepared on the server (one text per batch size: an action's two to four recipients reuse a
    # handful of plans); a client-bound statement was parsed and planned again on every action.
    rows = fetch_prepared(_STORE_PG.format(values=values), [*params, origin, now], many=True)
    return _numbered(items, counts, dict(rows), origin=origin, now=now)


def stored_by_statement(
    items: list[tuple[int, str, dict[str, Any]]], cursors: list[list[int]], *, origin: str, now: datetime
) -> list[Event]:
    """The events a statement with ``STORE_CTES`` stored: ``items`` as the statement's ``event_items``
    listed them (in ``ord`` order), ``cursors`` its ``CURSORS_COLUMN``."""
    counts = Counter(user_id for user_id, _type, _payload in items)
    return _numbered(items, counts, dict(cursors or []), origin=origin, now=now)


def _numbered(
    items: list[tuple[int, str, dict[str, Any]]], counts: Counter, last: dict[int, int], *, origin: str, now: datetime
) -> list[Event]:
    """The items as events: each user's new numbers end at ``last`` (the cursor after the write),
    handed out in the items' order."""
    next_seq = {user_id: last[user_id] - count + 1 for user_id, count in counts.items()}
    events = []
    for user_id, event_type, payload in items:
        events.append(Event(user_id, next_seq[user_id], event_type, payload, origin, now))
        next_seq[user_id] += 1
    return events


def _advance_cursors(counts: Counter) -> dict[int, int]:
    # Sorted, so two writers that share recipients lock their cursor rows in the same order (no
    # deadlock).
    user_ids = sorted(counts)
    last: dict[int, int] = {}
    with connection.cursor() as cursor:
        for start in range(0, len(user_ids), _CHUNK):
            chunk = user_ids[start : start + _CHUNK]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            params = [value for user_id in chunk for value in (user_id, counts[user_id])]
            cursor.execute(_UPSERT_CURSORS.format(values=values), params)
            last.update(cursor.fetchall())
    return last


def last_id(user_id: int) -> int:
    """The id of the user's newest event (0 before the first)."""
    return EventCursor.objects.filter(user_id=user_id).values_list("last_seq", flat=True).first() or 0


@dataclass(frozen=True)
class Replay:
    """What a client resuming after ``after`` must receive: ``events`` in order, or, when some are
    gone (pruned, too many, or an id this server never gave), ``resync`` and the id to go on from."""

    events: list[Event]
    resync: str  # "" | "expired" | "too_many" | "unknown_id"
    last_id: int


def replay(user_id: int, *, after: int, up_to: int | None = None) -> Replay:
    """The user's events numbered above ``after`` (and at most ``up_to``)."""
    newest = last_id(user_id)
    if after > newest:
        return Replay([], "unknown_id", newest)
    end = newest if up_to is None else min(up_to, newest)
    if end <= after:
        return Replay([], "", after)
    if end - after > replay_limit():
        return Replay([], "too_many", newest)
    rows = (
        StoredEvent.objects.filter(user_id=user_id, seq__gt=after, seq__lte=end)
        .order_by("seq")
        .values_list("seq", "type", "payload", "origin", "created_at")
    )
    events = [Event(user_id, *row) for row in rows]
    # Contiguous numbering: anything short of every number in (after, end] was pruned.
    if len(events) != end - after:
        return Replay([], "expired", newest)
    return Replay(events, "", end)


def prune(*, now: datetime | None = None) -> int:
    """Delete events older than the retention; returns how many."""
    cutoff = (now or timezone.now()) - retention()
    # Ids are handed out in the order events are stored, so everything below the first event young
    # enough to keep is old: found by walking the primary key from the oldest end (no index on
    # created_at to keep up on every write). An event stored with a clock a moment behind may wait
    # for the next run.
    old = StoredEvent.objects.filter(created_at__lt=cutoff)
    first_kept = StoredEvent.objects.filter(created_at__gte=cutoff).order_by("id").values_list("id", flat=True)[:1]
    first_kept = list(first_kept)
    if first_kept:
        old = old.filter(id__lt=first_kept[0])
    deleted, _ = old.delete()
    return deleted
