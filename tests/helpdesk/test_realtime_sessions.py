"""A socket lives no longer than the credential that opened it, and only the platform's own pages open one.

Sign-out closes that session's sockets (the account's other devices stay), a device's sign-out closes
the sockets opened with its token, deactivation closes all of the account's sockets: each is told
``session.ended`` and closed with 4401, and hears nothing more. The Origin must match the socket's own
scheme, host and port, or be one of CSRF_TRUSTED_ORIGINS. On the in-process and the Redis layer.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client
from rest_framework.test import APIClient

from accounts import services as account_services
from helpdesk.asgi import application
from helpdesk.core.events import SESSION_ENDED_CLOSE_CODE
from tests.helpdesk.test_realtime import connect_ok, make_user, token_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HOST = "localhost:8000"
PROBE = {"type": "probe", "payload": {"n": 1}}


@pytest.fixture(autouse=True)
async def _close_thread_connections():
    # As in test_realtime: the worker thread's connection would keep the test database open.
    yield
    await database_sync_to_async(connections.close_all)()


def ws(
    *, origin: str | None = None, host: str = HOST, cookie: str | None = None, path: str = "/ws/", headers=()
) -> WebsocketCommunicator:
    sent = [(b"host", host.encode()), *headers]
    if origin is not None:
        sent.append((b"origin", origin.encode()))
    if cookie is not None:
        sent.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=sent)


@database_sync_to_async
def signed_in_browser(user) -> Client:
    """A browser session of ``user`` (one per call: two calls are two devices)."""
    client = Client()
    client.force_login(user)
    return client


def cookie_of(client: Client) -> str:
    return f"sessionid={client.cookies['sessionid'].value}"


async def browser_socket(client: Client, user) -> WebsocketCommunicator:
    communicator = ws(origin=f"http://{HOST}", cookie=cookie_of(client))
    await connect_ok(communicator, user)
    return communicator


async def phone_socket(key: str, user) -> WebsocketCommunicator:
    communicator = ws(path=f"/ws/?token={key}")
    await connect_ok(communicator, user)
    return communicator


async def assert_ended(communicator: WebsocketCommunicator, reason: str) -> None:
    """Told once why, then closed with 4401."""
    frame = await communicator.receive_json_from(timeout=3)
    assert frame["type"] == "session.ended" and frame["payload"] == {"reason": reason}, frame
    closed = await communicator.receive_output(timeout=3)
    assert closed == {"type": "websocket.close", "code": SESSION_ENDED_CLOSE_CODE}


async def assert_closed_at_once(communicator: WebsocketCommunicator) -> None:
    """Refused in a way the client can read: accepted, then closed with 4401 (a close before the
    accept would be an HTTP 403 without a code)."""
    connected, _ = await communicator.connect(timeout=3)
    assert connected
    closed = await communicator.receive_output(timeout=3)
    assert closed["type"] == "websocket.close" and closed["code"] == SESSION_ENDED_CLOSE_CODE, closed
    await communicator.disconnect()


async def assert_only_these_hear(layer, user, *, alive, ended) -> None:
    """An event for the user reaches the sockets still open and none of the ended ones."""
    await layer.group_send(f"user.{user.pk}", {"type": "platform.event", "event": PROBE})
    for communicator in alive:
        assert await communicator.receive_json_from(timeout=3) == PROBE
    for communicator in ended:
        assert await communicator.receive_nothing(timeout=0.3)
    for communicator in (*alive, *ended):
        await communicator.disconnect()


async def test_sign_out_closes_that_sessions_sockets_only(channel_layer):
    user = await make_user()
    laptop, desktop = await signed_in_browser(user), await signed_in_browser(user)
    laptop_tabs = [await browser_socket(laptop, user), await browser_socket(laptop, user)]
    desktop_tab = await browser_socket(desktop, user)
    phone = await phone_socket(await token_for(user), user)

    response = await database_sync_to_async(laptop.post)("/accounts/logout/")
    assert response.status_code == 302

    for tab in laptop_tabs:
        await assert_ended(tab, "signed_out")
    # The other browser and the phone are other sessions: still connected, still hearing events.
    await assert_only_these_hear(channel_layer, user, alive=[desktop_tab, phone], ended=laptop_tabs)
    # The signed-out cookie opens nothing any more: accepted, then closed with 4401 the client can read.
    await assert_closed_at_once(ws(origin=f"http://{HOST}", cookie=cookie_of(laptop)))


async def test_a_devices_sign_out_closes_the_sockets_opened_with_its_token(channel_layer):
    user = await make_user()
    key = await token_for(user)
    phone = await phone_socket(key, user)
    browser = await browser_socket(await signed_in_browser(user), user)

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = await database_sync_to_async(api.delete)("/api/v1/auth/token/")
    assert response.status_code == 204

    await assert_ended(phone, "signed_out")
    await assert_only_these_hear(channel_layer, user, alive=[browser], ended=[phone])
    await assert_closed_at_once(ws(path=f"/ws/?token={key}"))


async def test_deactivation_closes_every_socket_of_the_account(channel_layer, tree, haidian_admin, teacher):
    bystander = await make_user()
    sockets = [
        await browser_socket(await signed_in_browser(teacher), teacher),
        await phone_socket(await token_for(teacher), teacher),
    ]
    other = await phone_socket(await token_for(bystander), bystander)

    await database_sync_to_async(account_services.user_deactivate)(actor=haidian_admin, user=teacher)

    for communicator in sockets:
        await assert_ended(communicator, "deactivated")
    await assert_only_these_hear(channel_layer, teacher, alive=[], ended=sockets)
    await assert_only_these_hear(channel_layer, bystander, alive=[other], ended=[])


async def test_deactivation_in_the_back_office_closes_the_sockets_too(channel_layer):
    """The admin's change form saves is_active=False without the accounts service."""
    user = await make_user()
    communicator = await browser_socket(await signed_in_browser(user), user)

    @database_sync_to_async
    def uncheck_active():
        user.is_active = False
        user.save()

    await uncheck_active()
    await assert_ended(communicator, "deactivated")
    await assert_only_these_hear(channel_layer, user, alive=[], ended=[communicator])


async def test_an_account_deactivated_while_its_socket_connects_is_refused(channel_layer, monkeypatch):
    """The account ends after the socket was authenticated but before it joined its groups, so the close
    sent then reached no socket: the consumer checks the credential once more after joining."""
    user = await make_user()
    key = await token_for(user)
    group_add = type(channel_layer).group_add

    async def deactivating_group_add(self, group, channel):
        # A bare UPDATE: no signal, no close message, as if it had been sent a moment too early.
        await database_sync_to_async(type(user).objects.filter(pk=user.pk).update)(is_active=False)
        return await group_add(self, group, channel)

    monkeypatch.setattr(type(channel_layer), "group_add", deactivating_group_add)
    await assert_closed_at_once(ws(path=f"/ws/?token={key}"))


# --- Origin: scheme, host and port ------------------------------------------------------------------
async def assert_origin(origin: str, allowed: bool, *, host: str = HOST, headers=()) -> None:
    user = await make_user()
    client = await signed_in_browser(user)
    communicator = ws(origin=origin, host=host, cookie=cookie_of(client), headers=headers)
    connected, _ = await communicator.connect(timeout=3)
    assert connected is allowed, (origin, host)
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost:8000", True),
        ("http://localhost:9999", False),  # another port of the same host: another site
        ("http://localhost", False),
        ("https://localhost:8000", False),  # a socket over ws:// is not opened by an https page
        ("http://127.0.0.1:8000", False),  # another name (both allowed hosts) is another origin
        ("null", False),
        ("http://localhost:8000.evil.example.com", False),
    ],
)
async def test_the_origin_must_be_the_sockets_own(channel_layer, origin, allowed):
    await assert_origin(origin, allowed)


async def test_a_host_outside_allowed_hosts_is_refused_even_from_its_own_origin(channel_layer):
    await assert_origin("http://rebound.example.com:8000", False, host="rebound.example.com:8000")


@pytest.mark.parametrize(("origin", "allowed"), [("https://localhost:8000", True), ("http://localhost:8000", False)])
async def test_behind_a_tls_proxy_the_page_is_https(channel_layer, settings, origin, allowed):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    await assert_origin(origin, allowed, headers=[(b"x-forwarded-proto", b"https")])


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://portal.example.edu.cn", True),
        ("http://portal.example.edu.cn", False),
        ("https://school.example.edu.cn", True),
        ("https://example.edu.cn.evil.com", False),
    ],
)
async def test_csrf_trusted_origins_may_open_sockets(channel_layer, settings, origin, allowed):
    settings.CSRF_TRUSTED_ORIGINS = ["https://portal.example.edu.cn", "https://*.example.edu.cn"]
    await assert_origin(origin, allowed)
