"""The per-user event log and the socket's resume rules, on both channel layers.

Resuming across a real server restart and a Redis restart is in test_realtime_resume.py; here are
the rules: contiguous per-user ids, replay in order and once, resync when events are gone, no echo
to the device that acted, gaps in the live stream filled from the log.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.utils import timezone

from accounts import services as account_services
from helpdesk.asgi import application
from helpdesk.core import eventlog
from helpdesk.core.events import reset_event_origin, send_event, set_event_origin, token_group_name
from helpdesk.core.models import StoredEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PAYLOAD = {
    "id": 1,
    "number": "TS20261205001",
    "title": "投影仪无信号",
    "state": "in_progress",
    "priority": "P3",
    "updated_at": "2026-12-05T09:30:00+08:00",
}


@pytest.fixture(autouse=True)
async def _close_thread_connections():
    yield
    await database_sync_to_async(connections.close_all)()


@database_sync_to_async
def make_user_and_token():
    user = UserFactory()
    return user, account_services.token_issue(user=user).key


@database_sync_to_async
def device_origin(key: str) -> str:
    """The origin a request authenticated with this token gets: its device's credential group."""
    from accounts.authentication import DeviceTokenBackend

    return token_group_name(DeviceTokenBackend().check_token(key).credential)


@database_sync_to_async
def produce(user_id: int, count: int, *, origin: str = "") -> None:
    token = set_event_origin(origin)
    try:
        for n in range(count):
            send_event(user_ids=[user_id], event_type="ticket.updated", payload=PAYLOAD | {"id": n + 1})
    finally:
        reset_event_origin(token)


async def open_socket(key: str, last_event_id: int | str | None = None) -> tuple[WebsocketCommunicator, dict]:
    path = f"/ws/?token={key}" + ("" if last_event_id is None else f"&last_event_id={last_event_id}")
    communicator = WebsocketCommunicator(application, path, headers=[(b"host", b"localhost:8000")])
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello["type"] == "hello"
    return communicator, hello


async def until_pong(communicator: WebsocketCommunicator) -> tuple[list[dict], dict]:
    await communicator.send_json_to({"type": "ping"})
    frames = []
    while True:
        frame = await communicator.receive_json_from(timeout=5)
        if frame["type"] == "pong":
            return frames, frame
        frames.append(frame)


def test_ids_are_contiguous_per_user_and_kept_in_the_order_sent():
    first, second = UserFactory(), UserFactory()
    stored = eventlog.store(
        [(first.pk, "ticket.updated", {"n": 1}), (second.pk, "ticket.updated", {"n": 1}), (first.pk, "x", {"n": 2})]
    )
    assert [(e.user_id, e.seq) for e in stored] == [(first.pk, 1), (second.pk, 1), (first.pk, 2)]
    more = eventlog.store([(first.pk, "ticket.updated", {"n": 3})])
    assert more[0].seq == 3
    assert eventlog.last_id(first.pk) == 3 and eventlog.last_id(second.pk) == 1
    replay = eventlog.replay(first.pk, after=1)
    assert [e.payload["n"] for e in replay.events] == [2, 3] and replay.resync == ""


async def test_a_socket_resumes_with_what_it_missed_in_order_and_once(channel_layer):
    user, key = await make_user_and_token()
    communicator, hello = await open_socket(key)
    seen = hello["payload"]["last_event_id"]
    await communicator.disconnect()
    await produce(user.pk, 7)
    communicator, hello = await open_socket(key, seen)
    assert hello["payload"] == {"user_id": user.pk, "last_event_id": seen, "resumed": True}
    frames, pong = await until_pong(communicator)
    assert [f["id"] for f in frames] == list(range(seen + 1, seen + 8))
    assert [f["payload"]["id"] for f in frames] == list(range(1, 8))
    assert pong["payload"]["last_event_id"] == seen + 7
    # Live events follow, numbered on.
    await produce(user.pk, 1)
    live = await communicator.receive_json_from(timeout=5)
    assert live["id"] == seen + 8
    await communicator.disconnect()


async def test_events_past_the_retention_are_answered_with_a_resync(channel_layer):
    user, key = await make_user_and_token()
    await produce(user.pk, 3)

    @database_sync_to_async
    def age_and_prune():
        StoredEvent.objects.filter(user_id=user.pk).update(created_at=timezone.now() - timedelta(hours=49))
        return eventlog.prune()

    assert await age_and_prune() == 3
    communicator, hello = await open_socket(key, 0)
    assert hello["payload"]["resumed"] is False
    resync = await communicator.receive_json_from(timeout=5)
    assert resync == {"type": "resync", "payload": {"reason": "expired", "last_event_id": 3}}
    # Going on from there, nothing is replayed again.
    frames, _pong = await until_pong(communicator)
    assert frames == []
    await communicator.disconnect()


async def test_an_id_the_server_never_gave_or_too_far_behind_is_a_resync(channel_layer, settings):
    user, key = await make_user_and_token()
    await produce(user.pk, 4)
    communicator, _hello = await open_socket(key, 99)
    assert (await communicator.receive_json_from(timeout=5))["payload"] == {"reason": "unknown_id", "last_event_id": 4}
    await communicator.disconnect()
    settings.HELPDESK_EVENT_REPLAY_LIMIT = 2
    communicator, _hello = await open_socket(key, 1)
    assert (await communicator.receive_json_from(timeout=5))["payload"] == {"reason": "too_many", "last_event_id": 4}
    await communicator.disconnect()


async def test_a_bad_last_event_id_is_an_error_frame_and_the_socket_starts_at_the_newest(channel_layer):
    user, key = await make_user_and_token()
    await produce(user.pk, 2)
    communicator, hello = await open_socket(key, "abc")
    assert hello["payload"]["last_event_id"] == 2
    assert (await communicator.receive_json_from(timeout=5))["type"] == "error"
    await communicator.disconnect()


async def test_the_device_that_acted_gets_no_echo_its_other_devices_do(channel_layer):
    user, phone_key = await make_user_and_token()
    tablet_key = (await database_sync_to_async(account_services.token_issue)(user=user)).key
    phone, _ = await open_socket(phone_key)
    tablet, _ = await open_socket(tablet_key)
    await produce(user.pk, 1, origin=await device_origin(phone_key))
    assert (await tablet.receive_json_from(timeout=5))["type"] == "ticket.updated"
    frames, pong = await until_pong(phone)
    assert frames == []
    # The phone has dealt with the id: its next resume does not bring the echo back either.
    seen = pong["payload"]["last_event_id"]
    await phone.disconnect()
    phone, _hello = await open_socket(phone_key, seen - 1)
    frames, _pong = await until_pong(phone)
    assert frames == []
    await phone.disconnect()
    await tablet.disconnect()


async def test_a_live_event_that_overtook_another_is_put_back_in_order(channel_layer):
    """Two pushes race: the later id reaches the socket first. The socket fetches the one before it
    from the log, sends both in order, and drops the late one when it comes."""
    from helpdesk.core.events import user_group_name

    user, key = await make_user_and_token()
    communicator, hello = await open_socket(key)
    seen = hello["payload"]["last_event_id"]

    @database_sync_to_async
    def store_two():
        return eventlog.store([(user.pk, "ticket.updated", PAYLOAD | {"id": 1}), (user.pk, "ticket.updated", PAYLOAD)])

    first, second = await store_two()
    for event in (second, first):
        await channel_layer.group_send(
            user_group_name(user.pk), {"type": "platform.event", "event": event.frame(), "origin": ""}
        )
    frames, _pong = await until_pong(communicator)
    assert [f["id"] for f in frames] == [seen + 1, seen + 2]
    await communicator.disconnect()


def test_both_ways_of_storing_number_alike():
    """PostgreSQL stores a batch in one statement outside a transaction, in two inside one (and
    SQLite always in two): the numbers and rows are the same either way."""
    from django.db import transaction

    first, second = UserFactory(), UserFactory()
    batch = [(first.pk, "a", {"n": 1}), (second.pk, "b", {"n": 2}), (first.pk, "c", {"n": 3})]
    outside = eventlog.store(batch)
    with transaction.atomic():
        inside = eventlog.store(batch)
    assert [(e.user_id, e.seq, e.type) for e in outside] == [
        (first.pk, 1, "a"),
        (second.pk, 1, "b"),
        (first.pk, 2, "c"),
    ]
    assert [(e.user_id, e.seq, e.type) for e in inside] == [(first.pk, 3, "a"), (second.pk, 2, "b"), (first.pk, 4, "c")]
    stored = list(StoredEvent.objects.filter(user_id=first.pk).order_by("seq").values_list("seq", "type", "payload"))
    assert stored == [(1, "a", {"n": 1}), (2, "c", {"n": 3}), (3, "a", {"n": 1}), (4, "c", {"n": 3})]


def test_pruning_removes_what_is_past_the_retention_and_nothing_younger():
    user = UserFactory()
    eventlog.store([(user.pk, "ticket.updated", {"n": n}) for n in range(1, 6)])
    now = timezone.now()
    rows = list(StoredEvent.objects.filter(user_id=user.pk).order_by("id"))
    # The first three are two days old; the fourth and fifth fresh, and the fifth's clock was behind
    # (stored after a fresh one, dated before the cutoff): it waits for a later run.
    for row, age in zip(rows, [50, 49, 49, 1, 49], strict=True):
        row.created_at = now - timedelta(hours=age)
        row.save(update_fields=["created_at"])
    assert eventlog.prune(now=now) == 3
    assert list(StoredEvent.objects.order_by("seq").values_list("seq", flat=True)) == [4, 5]
    # Once nothing younger is stored before it, it goes too; the fresh one stays.
    StoredEvent.objects.filter(seq=4).update(created_at=now - timedelta(hours=49))
    assert eventlog.prune(now=now) == 2
    assert eventlog.prune(now=now + timedelta(hours=1)) == 0
    # With nothing young left at all, everything old goes.
    eventlog.store([(user.pk, "ticket.updated", {"n": 6})])
    StoredEvent.objects.update(created_at=now - timedelta(hours=72))
    assert eventlog.prune(now=now) == 1 and not StoredEvent.objects.exists()


def test_prepared_statements_take_numbered_placeholders():
    from helpdesk.core.db import _numbered_placeholders

    assert _numbered_placeholders("SELECT %s, '%%' || %s::text") == "SELECT $1, '%' || $2::text"


def test_a_prepared_statement_longer_than_psycopgs_cache_runs():
    from helpdesk.core.db import fetch_prepared
    from tests.concurrency import require_postgres

    require_postgres()  # the casts are PostgreSQL's; SQLite runs fetch_prepared as a plain query

    # A statement longer than psycopg's 4 kB conversion cache, as the ticket create's is.
    long_sql = "SELECT " + " + ".join(["%s::int"] * 900)
    assert len(long_sql) > 4096
    assert fetch_prepared(long_sql, list(range(900))) == (sum(range(900)),)
    assert fetch_prepared("SELECT %s::text || '%%'", ["100"]) == ("100%",)
