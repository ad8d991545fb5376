"""A device's sockets end with the device, over a real server (daphne) on Redis, as a phone sees it.

Signing a device out, revoking it from another device, and a password change (through the API, or
the portal's page in another process) each close the affected sockets within a second: the client
reads ``session.ended`` and then close code 4401. The account's other devices stay connected. A socket
opened with an expired or unknown token is accepted and closed with 4401 (not refused with an HTTP
403 the client cannot read), the expired one told ``session.ended`` with the reason ``token_expired``.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import DeviceSession
from helpdesk.core.events import SESSION_ENDED_CLOSE_CODE
from tests.factories import UserFactory
from tests.helpdesk.test_daphne_multipart import daphne  # noqa: F401 (the server fixture)
from tests.ws_client import Closed, HandshakeRefused, WebSocket

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NEW_PASSWORD = "Another-secret-42"
WITHIN = 1.0  # seconds from the answer of the request that ended the device to the socket's close


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


async def sign_in(http: httpx.AsyncClient, user, password: str, name: str) -> dict:
    response = await http.post(
        "/api/v1/auth/token/", json={"username": user.username, "password": password, "device_name": name}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def open_socket(base: str, path: str, headers: dict[str, str] | None = None) -> WebSocket:
    address = urlsplit(base)
    return await WebSocket.connect(address.hostname, address.port, path, headers)


async def phone_socket(base: str, token: str) -> WebSocket:
    socket = await open_socket(base, f"/ws/?token={token}")
    assert (await socket.receive())["type"] == "hello"
    return socket


async def assert_ended_within(socket: WebSocket, reason: str, since: float) -> None:
    frame = await socket.receive(timeout=WITHIN + 2)
    assert frame["type"] == "session.ended" and frame["payload"]["reason"] == reason, frame
    with pytest.raises(Closed) as closed:
        await socket.receive(timeout=WITHIN + 2)
    assert closed.value.code == SESSION_ENDED_CLOSE_CODE
    assert time.monotonic() - since < WITHIN, f"closed after {time.monotonic() - since:.2f} s"


async def assert_alive(socket: WebSocket) -> None:
    await socket.send_json({"type": "ping"})
    assert (await socket.receive(timeout=3))["type"] == "pong"
    await socket.close()


def test_signing_out_closes_that_devices_socket_only(daphne, password):  # noqa: F811
    user = UserFactory()

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=daphne, timeout=10) as http:
            phone = await sign_in(http, user, password, "phone")
            tablet = await sign_in(http, user, password, "tablet")
            phone_ws = await phone_socket(daphne, phone["token"])
            tablet_ws = await phone_socket(daphne, tablet["token"])
            response = await http.post("/api/v1/auth/logout/", headers=auth(phone["token"]))
            assert response.status_code == 204
            await assert_ended_within(phone_ws, "signed_out", time.monotonic())
            await assert_alive(tablet_ws)
            assert (await http.get("/api/v1/me/", headers=auth(tablet["token"]))).status_code == 200

    asyncio.run(scenario())


def test_revoking_a_device_from_another_closes_its_socket(daphne, password):  # noqa: F811
    user = UserFactory()

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=daphne, timeout=10) as http:
            phone = await sign_in(http, user, password, "phone")
            lost = await sign_in(http, user, password, "lost tablet")
            lost_ws = await phone_socket(daphne, lost["token"])
            phone_ws = await phone_socket(daphne, phone["token"])
            response = await http.delete(f"/api/v1/me/devices/{lost['device']['id']}/", headers=auth(phone["token"]))
            assert response.status_code == 204
            await assert_ended_within(lost_ws, "token_revoked", time.monotonic())
            await assert_alive(phone_ws)
            # The revoked token opens nothing any more: accepted, then closed with 4401.
            refused = await open_socket(daphne, f"/ws/?token={lost['token']}")
            with pytest.raises(Closed) as closed:
                await refused.receive()
            assert closed.value.code == SESSION_ENDED_CLOSE_CODE

    asyncio.run(scenario())


def test_a_password_change_by_api_closes_the_other_devices_sockets(daphne, password):  # noqa: F811
    user = UserFactory()
    browser = Client()
    browser.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    cookie = f"sessionid={browser.cookies['sessionid'].value}"

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=daphne, timeout=10) as http:
            phone = await sign_in(http, user, password, "phone")
            tablet = await sign_in(http, user, password, "tablet")
            phone_ws = await phone_socket(daphne, phone["token"])
            tablet_ws = await phone_socket(daphne, tablet["token"])
            browser_ws = await open_socket(daphne, "/ws/", {"Origin": daphne, "Cookie": cookie})
            assert (await browser_ws.receive())["type"] == "hello"
            response = await http.post(
                "/api/v1/me/password/",
                headers=auth(phone["token"]),
                json={"old_password": password, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
            )
            assert response.status_code == 200, response.text
            answered = time.monotonic()
            await assert_ended_within(tablet_ws, "token_revoked", answered)
            await assert_ended_within(browser_ws, "token_revoked", answered)
            await assert_alive(phone_ws)

    asyncio.run(scenario())


@pytest.fixture
def run():
    """One event loop across a test, so that its sockets stay open while synchronous code (the ORM,
    Django's test client) runs between the steps; what the server sends meanwhile waits in the socket."""
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


def test_a_password_change_in_the_portal_closes_the_other_devices_sockets(daphne, password, captcha_test_mode, run):  # noqa: F811
    """The portal's page, served by this process, reaches the server's sockets through Redis."""
    user = UserFactory()
    this_browser = Client()
    this_browser.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    cookie = f"sessionid={this_browser.cookies['sessionid'].value}"

    async def connect() -> tuple[WebSocket, WebSocket]:
        async with httpx.AsyncClient(base_url=daphne, timeout=10) as http:
            phone = await sign_in(http, user, password, "phone")
        phone_ws = await phone_socket(daphne, phone["token"])
        browser_ws = await open_socket(daphne, "/ws/", {"Origin": daphne, "Cookie": cookie})
        assert (await browser_ws.receive())["type"] == "hello"
        return phone_ws, browser_ws

    phone_ws, browser_ws = run(connect())
    response = this_browser.post(
        "/accounts/password/",
        {
            "old_password": password,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
            "captcha_0": "any",
            "captcha_1": "PASSED",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    run(assert_ended_within(phone_ws, "token_revoked", time.monotonic()))
    # This browser's own socket stays: the session was kept (under a new key).
    run(assert_alive(browser_ws))


def test_an_expired_or_unknown_token_is_closed_with_4401_the_client_can_read(daphne, password, run):  # noqa: F811
    user = UserFactory()

    async def signed_in() -> dict:
        async with httpx.AsyncClient(base_url=daphne, timeout=10) as http:
            return await sign_in(http, user, password, "phone")

    phone = run(signed_in())
    DeviceSession.objects.filter(pk=phone["device"]["id"]).update(
        access_expires_at=timezone.now() - timedelta(seconds=1)
    )

    async def scenario() -> None:
        expired = await open_socket(daphne, f"/ws/?token={phone['token']}")
        frame = await expired.receive()
        assert frame["type"] == "session.ended" and frame["payload"] == {"reason": "token_expired"}
        with pytest.raises(Closed) as closed:
            await expired.receive()
        assert closed.value.code == SESSION_ENDED_CLOSE_CODE
        unknown = await open_socket(daphne, "/ws/?token=not-a-token")
        with pytest.raises(Closed) as closed:
            await unknown.receive()
        assert closed.value.code == SESSION_ENDED_CLOSE_CODE
        # Another site's page is still refused before the handshake completes.
        with pytest.raises(HandshakeRefused) as refused:
            await open_socket(daphne, "/ws/", {"Origin": "https://evil.example.com"})
        assert refused.value.status == 403

    run(scenario())
