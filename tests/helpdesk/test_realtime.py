"""The /ws/ endpoint and send_event, on the in-process channel layer and on Redis.

Every test runs against both layers: a browser or phone sees the same behaviour whichever one the
platform is configured with.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections, transaction
from django.test import Client

from accounts import services as account_services
from helpdesk.asgi import application
from helpdesk.core.events import send_event, user_group_name
from tests.factories import UserFactory

# Tests run in a transaction that commits for real, so that on_commit hooks fire as in production;
# serialized_rollback restores the rows data migrations made (handling groups) for later tests.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ALLOWED_ORIGIN = b"http://localhost:8000"


@pytest.fixture(autouse=True)
async def _close_thread_connections():
    # database_sync_to_async runs queries in a worker thread whose connection would otherwise stay
    # open and keep PostgreSQL from dropping the test database at the end of the session.
    yield
    await database_sync_to_async(connections.close_all)()


@database_sync_to_async
def make_user(**kwargs):
    return UserFactory(**kwargs)


@database_sync_to_async
def session_cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


@database_sync_to_async
def token_for(user) -> str:
    return account_services.token_issue(user=user).key


def socket(
    *,
    origin: bytes | None = None,
    cookie: bytes | None = None,
    path: str = "/ws/",
    token_header: str | None = None,
) -> WebsocketCommunicator:
    headers = [(b"host", b"localhost:8000")]
    if origin is not None:
        headers.append((b"origin", origin))
    if cookie is not None:
        headers.append((b"cookie", cookie))
    if token_header is not None:
        headers.append((b"authorization", f"Token {token_header}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def assert_joined_user_group(communicator: WebsocketCommunicator, layer, user) -> None:
    """A message sent to the user's group reaches this connection."""
    await layer.group_send(
        user_group_name(user.pk),
        {"type": "platform.event", "event": {"type": "probe", "payload": {"n": 1}}},
    )
    assert await communicator.receive_json_from(timeout=3) == {"type": "probe", "payload": {"n": 1}}


async def connect_ok(communicator: WebsocketCommunicator, user) -> None:
    connected, _ = await communicator.connect(timeout=3)
    assert connected
    hello = await communicator.receive_json_from(timeout=3)
    assert hello["type"] == "hello"
    assert hello["payload"]["user_id"] == user.pk
    assert hello["payload"]["resumed"] is False


async def assert_refused(communicator: WebsocketCommunicator, *, readable: bool = True) -> None:
    """A socket without credentials is accepted and closed at once with 4401, so that the client can
    read why; one from another site's page is refused before the handshake completes (HTTP 403)."""
    connected, _ = await communicator.connect(timeout=3)
    if readable:
        assert connected
        assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    else:
        assert not connected
    await communicator.disconnect()


# --- Who may connect --------------------------------------------------------------------------------
async def test_browser_with_session_and_allowed_origin_joins_its_group(channel_layer):
    user = await make_user()
    communicator = socket(origin=ALLOWED_ORIGIN, cookie=await session_cookie_for(user))
    await connect_ok(communicator, user)
    await assert_joined_user_group(communicator, channel_layer, user)
    # The socket carries keep-alive pings only; writes go through the REST API.
    await communicator.send_json_to({"type": "ping"})
    pong = await communicator.receive_json_from(timeout=3)
    assert pong["type"] == "pong" and isinstance(pong["payload"]["last_event_id"], int)
    await communicator.send_json_to({"type": "chat.send", "payload": {"text": "hi"}})
    assert (await communicator.receive_json_from(timeout=3))["type"] == "error"
    await communicator.disconnect()


async def test_session_cookie_from_another_site_is_refused(channel_layer):
    user = await make_user()
    await assert_refused(
        socket(origin=b"https://evil.example.com", cookie=await session_cookie_for(user)), readable=False
    )


async def test_anonymous_browser_is_refused(channel_layer):
    await assert_refused(socket(origin=ALLOWED_ORIGIN))


async def test_anonymous_without_origin_is_refused(channel_layer):
    await assert_refused(socket())


async def test_session_cookie_without_origin_is_not_enough(channel_layer):
    user = await make_user()
    await assert_refused(socket(cookie=await session_cookie_for(user)))


async def test_mobile_client_connects_with_token_in_query(channel_layer):
    user = await make_user()
    communicator = socket(path=f"/ws/?token={await token_for(user)}")
    await connect_ok(communicator, user)
    await assert_joined_user_group(communicator, channel_layer, user)
    await communicator.disconnect()


async def test_mobile_client_connects_with_authorization_header(channel_layer):
    user = await make_user()
    communicator = socket(token_header=await token_for(user))
    await connect_ok(communicator, user)
    await assert_joined_user_group(communicator, channel_layer, user)
    await communicator.disconnect()


async def test_wrong_token_is_refused(channel_layer):
    await make_user()
    await assert_refused(socket(path="/ws/?token=0123456789abcdef0123456789abcdef01234567"))


async def test_deactivated_users_token_is_refused(channel_layer):
    user = await make_user()
    key = await token_for(user)

    @database_sync_to_async
    def deactivate():
        type(user).objects.filter(pk=user.pk).update(is_active=False)

    await deactivate()
    await assert_refused(socket(path=f"/ws/?token={key}"))
    await assert_refused(socket(token_header=key))


# --- send_event -----------------------------------------------------------------------------------
# A payload of the declared shape: the tests check every payload against the events registry.
PAYLOAD = {
    "id": 1,
    "number": "TS20260101001",
    "title": "投影仪无信号",
    "state": "new",
    "priority": "P3",
    "updated_at": "2026-01-01T09:00:00+08:00",
}


@database_sync_to_async
def send_in_transaction(user_ids, *, payload, rollback=False) -> None:
    class Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            send_event(user_ids=user_ids, event_type="ticket.updated", payload=payload)
            if rollback:
                raise Rollback
    except Rollback:
        pass


def count_group_sends(channel_layer, monkeypatch) -> list[str]:
    """The groups the layer is asked to send to (by ``group_send``, or on Redis from a thread by
    ``group_send_blocking``, which answers with the groups it sent to), in order."""
    sent_to: list[str] = []
    layer_type = type(channel_layer)
    group_send = layer_type.group_send

    async def counting_group_send(self, group, message):
        sent_to.append(group)
        return await group_send(self, group, message)

    monkeypatch.setattr(layer_type, "group_send", counting_group_send)
    if hasattr(layer_type, "group_send_blocking"):
        group_send_blocking = layer_type.group_send_blocking

        def counting_group_send_blocking(self, deliveries, origins=None):
            sent = group_send_blocking(self, deliveries, origins)
            sent_to.extend(sent)
            return sent

        monkeypatch.setattr(layer_type, "group_send_blocking", counting_group_send_blocking)
    return sent_to


async def test_event_reaches_every_connection_of_the_user_after_commit(channel_layer):
    user = await make_user()
    other = await make_user()
    browser = socket(origin=ALLOWED_ORIGIN, cookie=await session_cookie_for(user))
    phone = socket(path=f"/ws/?token={await token_for(user)}")
    bystander = socket(token_header=await token_for(other))
    for communicator, owner in ((browser, user), (phone, user), (bystander, other)):
        await connect_ok(communicator, owner)

    await send_in_transaction([user.pk], payload=PAYLOAD | {"id": 7, "state": "in_progress"})

    for communicator in (browser, phone):
        event = await communicator.receive_json_from(timeout=3)
        assert event["type"] == "ticket.updated"
        assert event["payload"] == PAYLOAD | {"id": 7, "state": "in_progress"}
        assert event["sent_at"]
    assert await bystander.receive_nothing(timeout=0.3)
    for communicator in (browser, phone, bystander):
        await communicator.disconnect()


async def test_events_for_users_without_a_connection_are_dropped_without_harm(channel_layer, monkeypatch):
    """Most users an event names are offline (a sweep warns thousands). On Redis only the groups with a
    connection are sent to; everyone still gets what is theirs, and nothing fails."""
    online = await make_user()
    offline = [await make_user() for _ in range(3)]
    communicator = socket(token_header=await token_for(online))
    await connect_ok(communicator, online)
    sent_to = count_group_sends(channel_layer, monkeypatch)
    await send_in_transaction([u.pk for u in (*offline, online)], payload=PAYLOAD)
    event = await communicator.receive_json_from(timeout=3)
    assert (event["type"], event["payload"]) == ("ticket.updated", PAYLOAD)
    if type(channel_layer).__name__.endswith("RedisChannelLayer"):
        assert sent_to == [user_group_name(online.pk)]
    else:  # the in-process layer has no round trips to save
        assert len(sent_to) == 4
    await communicator.disconnect()


async def test_an_event_is_not_sent_where_only_the_device_that_caused_it_listens(channel_layer, monkeypatch):
    """A socket drops an event its own credential caused (the device that acted has its answer). On
    Redis such an event is not even sent while that device is the user's only socket; once another
    device connects, that one gets it and the acting device still hears nothing."""
    from helpdesk.core.events import reset_event_origin, session_group_name, set_event_origin

    user = await make_user()
    cookie = await session_cookie_for(user)
    browser = socket(origin=ALLOWED_ORIGIN, cookie=cookie)
    await connect_ok(browser, user)
    sent_to = count_group_sends(channel_layer, monkeypatch)

    async def act(payload) -> None:
        # As a request of the browser's session would (accounts.middleware).
        origin = set_event_origin(session_group_name(cookie.decode().split("=", 1)[1]))
        try:
            await send_in_transaction([user.pk], payload=payload)
        finally:
            reset_event_origin(origin)

    await act(PAYLOAD | {"id": 1})
    redis = type(channel_layer).__name__.endswith("RedisChannelLayer")
    assert sent_to == ([] if redis else [user_group_name(user.pk)])
    phone = socket(token_header=await token_for(user))
    await connect_ok(phone, user)
    await act(PAYLOAD | {"id": 2})
    event = await phone.receive_json_from(timeout=3)
    assert (event["type"], event["payload"]["id"]) == ("ticket.updated", 2)
    assert sent_to[-1] == user_group_name(user.pk)
    assert await browser.receive_nothing(timeout=0.3)
    for communicator in (phone, browser):
        await communicator.disconnect()


async def test_event_waits_for_commit(channel_layer):
    user = await make_user()
    communicator = socket(token_header=await token_for(user))
    await connect_ok(communicator, user)
    # A bare listener in the user's group sees what reaches the layer itself: the consumer cannot
    # run while this test's database thread sits inside the transaction.
    listener = await channel_layer.new_channel()
    await channel_layer.group_add(user_group_name(user.pk), listener)

    async def layer_hears_nothing() -> bool:
        try:
            await asyncio.wait_for(channel_layer.receive(listener), timeout=0.5)
        except TimeoutError:
            return True
        return False

    heard_inside_transaction = {}

    @database_sync_to_async
    def send_then_listen_before_commit():
        with transaction.atomic():
            send_event(user_ids=[user.pk], event_type="ticket.updated", payload=PAYLOAD)
            heard_inside_transaction["nothing"] = async_to_sync(layer_hears_nothing)()

    await send_then_listen_before_commit()
    assert heard_inside_transaction["nothing"] is True
    event = await communicator.receive_json_from(timeout=3)
    assert (event["type"], event["payload"]) == ("ticket.updated", PAYLOAD)
    await channel_layer.group_discard(user_group_name(user.pk), listener)
    await communicator.disconnect()


async def test_rolled_back_event_is_never_sent(channel_layer):
    user = await make_user()
    communicator = socket(token_header=await token_for(user))
    await connect_ok(communicator, user)

    await send_in_transaction([user.pk], payload={**PAYLOAD, "id": 1}, rollback=True)
    assert await communicator.receive_nothing(timeout=0.5)

    # The connection still works: the next committed event arrives, and only that one.
    await send_in_transaction([user.pk], payload={**PAYLOAD, "id": 2})
    assert (await communicator.receive_json_from(timeout=3))["payload"] == {**PAYLOAD, "id": 2}
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_closed_connection_leaves_the_group(channel_layer):
    user = await make_user()
    first = socket(token_header=await token_for(user))
    second = socket(token_header=await token_for(user))
    await connect_ok(first, user)
    await connect_ok(second, user)
    await first.disconnect()

    await send_in_transaction([user.pk], payload={**PAYLOAD, "id": 3})
    assert (await second.receive_json_from(timeout=3))["payload"] == {**PAYLOAD, "id": 3}
    await second.disconnect()


def test_settings_pick_redis_channel_layer_when_redis_url_is_set(settings):
    """The default configuration follows REDIS_URL, so production sockets share one layer."""
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    if os.environ.get("REDIS_URL"):
        # Bounded: a storm of sockets waits for the process's few connections (tests/helpdesk/test_ws_storm.py).
        assert backend == "helpdesk.core.channel_layer.BoundedRedisChannelLayer"
        [host] = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]
        assert host["address"] == os.environ["REDIS_URL"]
        assert host["max_connections"] == settings.CHANNEL_LAYER_MAX_CONNECTIONS
    else:
        assert backend == "channels.layers.InMemoryChannelLayer"
