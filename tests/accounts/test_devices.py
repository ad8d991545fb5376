"""Per-device sessions: every sign-in is its own device with its own tokens, listed and revoked by its
owner in the API and the portal (我的设备); signing out ends that device only; tokens expire and
refresh; a password change keeps the device it was made from and signs out the others.

Sockets closing with their device are in tests/helpdesk/test_device_sockets.py (a real server on Redis).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import DeviceKind, DeviceSession
from accounts.services.devices import token_digest
from helpdesk.core import events
from helpdesk.core.consumers import credential_groups
from helpdesk.core.ws_auth import WebsocketAuthStack
from tests.factories import UserFactory

TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"
LOGOUT_URL = "/api/v1/auth/logout/"
DEVICES_URL = "/api/v1/me/devices/"
ME_URL = "/api/v1/me/"
NEW_PASSWORD = "Another-secret-42"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def sign_in(password: str, device_name: str | None = None, user_agent: str = "HelpdeskApp/2.1 (Android 14)") -> dict:
    body = {"username": "teacher_zw", "password": password}
    if device_name is not None:
        body["device_name"] = device_name
    response = APIClient().post(TOKEN_URL, body, format="json", HTTP_USER_AGENT=user_agent)
    assert response.status_code == 200, response.json()
    return response.json()


def client_for(token: str, scheme: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {token}")
    return client


# --- Sign-in, sign-out ------------------------------------------------------------------------------
def test_two_sign_ins_are_two_devices_with_their_own_tokens(teacher, password):
    phone = sign_in(password, device_name="张伟的手机")
    tablet = sign_in(password, user_agent="HelpdeskApp/2.1 (iPadOS 18)")
    assert phone["token"] != tablet["token"] and phone["refresh_token"] != tablet["refresh_token"]
    assert phone["device"]["name"] == "张伟的手机"
    assert tablet["device"]["name"] == "HelpdeskApp/2.1 (iPadOS 18)"
    assert phone["device"]["kind"] == "app"
    for token in (phone["token"], tablet["token"]):
        assert client_for(token).get(ME_URL).status_code == 200
    # Bearer is accepted as well as Token.
    assert client_for(phone["token"], "Bearer").get(ME_URL).status_code == 200

    listed = client_for(phone["token"]).get(DEVICES_URL).json()
    assert {d["id"] for d in listed} == {phone["device"]["id"], tablet["device"]["id"]}
    assert [d["id"] for d in listed if d["current"]] == [phone["device"]["id"]]


def test_tokens_are_stored_only_as_digests(teacher, password):
    signed_in = sign_in(password)
    row = DeviceSession.objects.get(pk=signed_in["device"]["id"])
    stored = {row.access_digest, row.refresh_digest, row.session_key, row.name}
    assert signed_in["token"] not in stored and signed_in["refresh_token"] not in stored
    assert row.access_digest == token_digest(signed_in["token"])


def test_signing_out_one_device_leaves_the_other_signed_in(teacher, password):
    phone, tablet = sign_in(password), sign_in(password)
    assert client_for(phone["token"]).post(LOGOUT_URL).status_code == 204
    refused = client_for(phone["token"]).get(ME_URL)
    assert refused.status_code == 401 and refused.json()["code"] == "authentication_failed"
    assert client_for(tablet["token"]).get(ME_URL).status_code == 200
    # The older DELETE on the token endpoint signs out the calling device only, too.
    assert client_for(tablet["token"]).delete(TOKEN_URL).status_code == 204
    assert client_for(tablet["token"]).get(ME_URL).status_code == 401
    assert not DeviceSession.objects.filter(user=teacher).exists()


def test_a_device_is_revoked_from_another_and_not_by_a_stranger(teacher, tianjin_teacher, password):
    phone, lost_tablet = sign_in(password), sign_in(password)
    stranger = client_for(services.token_issue(user=tianjin_teacher).key)
    target = f"{DEVICES_URL}{lost_tablet['device']['id']}/"
    assert stranger.delete(target).status_code == 404
    assert client_for(lost_tablet["token"]).get(ME_URL).status_code == 200

    assert client_for(phone["token"]).delete(target).status_code == 204
    assert client_for(lost_tablet["token"]).get(ME_URL).status_code == 401
    assert (
        client_for(lost_tablet["token"]).post(REFRESH_URL, {"refresh_token": lost_tablet["refresh_token"]}).status_code
        == 400
    )
    assert client_for(phone["token"]).get(ME_URL).status_code == 200
    assert client_for(phone["token"]).delete(target).status_code == 404


def test_wrong_password_is_401_and_issues_nothing(teacher):
    response = APIClient().post(TOKEN_URL, {"username": "teacher_zw", "password": "nope"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert not DeviceSession.objects.exists()


# --- Expiry and refresh -----------------------------------------------------------------------------
def test_an_expired_access_token_is_401_token_expired_and_refresh_rotates_both(teacher, password):
    signed_in = sign_in(password)
    DeviceSession.objects.filter(pk=signed_in["device"]["id"]).update(
        access_expires_at=timezone.now() - timedelta(seconds=1)
    )
    expired = client_for(signed_in["token"]).get(ME_URL)
    assert expired.status_code == 401
    assert expired.json()["code"] == "token_expired"

    refreshed = APIClient().post(REFRESH_URL, {"refresh_token": signed_in["refresh_token"]}, format="json")
    assert refreshed.status_code == 200, refreshed.json()
    pair = refreshed.json()
    assert pair["token"] != signed_in["token"] and pair["refresh_token"] != signed_in["refresh_token"]
    assert client_for(pair["token"]).get(ME_URL).status_code == 200
    # The old pair is spent: the old access token is unknown, the old refresh token refused.
    assert client_for(signed_in["token"]).get(ME_URL).json()["code"] == "authentication_failed"
    again = APIClient().post(REFRESH_URL, {"refresh_token": signed_in["refresh_token"]}, format="json")
    assert again.status_code == 400 and "refresh_token" in again.json()["fields"]
    # Same device: the list still holds one.
    assert [d["id"] for d in client_for(pair["token"]).get(DEVICES_URL).json()] == [signed_in["device"]["id"]]


def test_an_expired_refresh_token_signs_the_device_out(teacher, password, settings):
    signed_in = sign_in(password)
    DeviceSession.objects.filter(pk=signed_in["device"]["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = APIClient().post(REFRESH_URL, {"refresh_token": signed_in["refresh_token"]}, format="json")
    assert response.status_code == 400
    assert not DeviceSession.objects.filter(pk=signed_in["device"]["id"]).exists()


def test_the_token_lifetimes_come_from_settings(teacher, password, settings):
    settings.HELPDESK_ACCESS_TOKEN_TTL = timedelta(hours=1)
    settings.HELPDESK_REFRESH_TOKEN_TTL = timedelta(days=7)
    before = timezone.now()
    device = DeviceSession.objects.get(pk=sign_in(password)["device"]["id"])
    assert timedelta(minutes=59) < device.access_expires_at - before <= timedelta(hours=1, seconds=5)
    assert timedelta(days=6, hours=23) < device.expires_at - before <= timedelta(days=7, seconds=5)


@pytest.mark.parametrize(
    "body", [{}, {"refresh_token": ""}, {"refresh_token": "x", "token": "y"}, {"refresh_token": 5}]
)
def test_refresh_rejects_bad_input(db, body):
    response = APIClient().post(REFRESH_URL, body, format="json")
    assert response.status_code == 400 and response.json()["fields"]


# --- Password change --------------------------------------------------------------------------------
def test_password_change_in_the_portal_keeps_this_browser_and_signs_out_the_rest(teacher, password):
    phone = sign_in(password)
    teacher.refresh_from_db()  # signing in may have upgraded the password hash the session covers
    this_browser, other_browser = Client(), Client()
    for browser in (this_browser, other_browser):
        browser.force_login(teacher, backend=MODEL_BACKEND)
    assert DeviceSession.objects.filter(user=teacher, kind=DeviceKind.BROWSER).count() == 2
    assert other_browser.get("/accounts/profile/").status_code == 200
    services.password_change(
        user=teacher,
        old_password=password,
        new_password=NEW_PASSWORD,
        new_password_confirm=NEW_PASSWORD,
        keep_device=services.devices.DeviceSession.objects.get(session_key=this_browser.session.session_key),
    )
    assert client_for(phone["token"]).get(ME_URL).status_code == 401
    assert other_browser.get("/accounts/profile/").status_code == 302
    assert list(DeviceSession.objects.filter(user=teacher).values_list("session_key", flat=True)) == [
        this_browser.session.session_key
    ]


# --- The portal's device list ---------------------------------------------------------------------
def test_the_portal_lists_devices_marks_this_one_and_signs_out_another(teacher, password):
    phone = sign_in(password, device_name="张伟的手机")
    teacher.refresh_from_db()  # signing in may have upgraded the password hash the session covers
    browser = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0")
    browser.force_login(teacher, backend=MODEL_BACKEND)
    page = browser.get("/accounts/devices/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    html = page.content.decode()
    assert "张伟的手机" in html and "本设备" in html and "我的设备" in html
    this_row = DeviceSession.objects.get(session_key=browser.session.session_key)
    assert this_row.kind == DeviceKind.BROWSER

    response = browser.post("/accounts/devices/", {"device": phone["device"]["id"]})
    assert response.status_code == 302
    assert client_for(phone["token"]).get(ME_URL).status_code == 401
    # This browser cannot revoke itself here (that is signing out) and stays signed in.
    browser.post("/accounts/devices/", {"device": this_row.pk})
    assert browser.get("/accounts/profile/").status_code == 200


def test_revoking_a_browser_ends_its_session(teacher, password):
    phone = sign_in(password)
    teacher.refresh_from_db()  # signing in may have upgraded the password hash the session covers
    browser = Client()
    browser.force_login(teacher, backend=MODEL_BACKEND)
    assert browser.get("/accounts/profile/").status_code == 200
    row = DeviceSession.objects.get(session_key=browser.session.session_key)
    assert client_for(phone["token"]).delete(f"{DEVICES_URL}{row.pk}/").status_code == 204
    assert browser.get("/accounts/profile/").status_code == 302


def test_signing_out_of_the_portal_forgets_the_browser(teacher):
    browser = Client()
    browser.force_login(teacher, backend=MODEL_BACKEND)
    assert DeviceSession.objects.filter(user=teacher).count() == 1
    browser.post("/accounts/logout/")
    assert not DeviceSession.objects.filter(user=teacher).exists()


def test_a_browser_calling_the_api_sees_its_own_row_as_current(teacher):
    browser = APIClient()
    browser.force_login(teacher, backend=MODEL_BACKEND)
    services.token_issue(user=teacher, name="phone")
    listed = browser.get(DEVICES_URL).json()
    assert sorted((d["kind"], d["current"]) for d in listed) == [("app", False), ("browser", True)]


def test_last_use_is_written_at_most_every_interval(teacher, password, settings, django_assert_num_queries):
    signed_in = sign_in(password)
    device = DeviceSession.objects.get(pk=signed_in["device"]["id"])
    client = client_for(signed_in["token"])
    long_ago = timezone.now() - settings.HELPDESK_DEVICE_SEEN_INTERVAL - timedelta(seconds=1)
    DeviceSession.objects.filter(pk=device.pk).update(last_used_at=long_ago)
    client.get(ME_URL)
    device.refresh_from_db()
    assert device.last_used_at > long_ago
    seen = device.last_used_at
    client.get(ME_URL)
    device.refresh_from_db()
    assert device.last_used_at == seen


# --- The event origin -------------------------------------------------------------------------------
@pytest.fixture
def origin_spy(monkeypatch):
    """Records the event origin while the profile service runs inside a PATCH /api/v1/me/."""
    seen: list[str] = []
    real = services.profile_update

    def spy(**kwargs):
        seen.append(events.current_event_origin())
        return real(**kwargs)

    monkeypatch.setattr(services, "profile_update", spy)
    return seen


@pytest.fixture
async def close_thread_connections():
    # The async tests' queries run in a worker thread whose connection would keep the test database open.
    yield
    await database_sync_to_async(connections.close_all)()


async def socket_scope(headers: list[tuple[bytes, bytes]], path: str = "/ws/") -> dict:
    """The scope the socket's authentication stack gives the consumer for these headers."""
    captured: dict = {}

    async def consumer(scope, receive, send):
        captured.update(scope)
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": 1000})

    communicator = WebsocketCommunicator(WebsocketAuthStack(consumer), path, headers=headers)
    await communicator.connect(timeout=3)
    await communicator.disconnect()
    return captured


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_a_token_requests_origin_is_its_sockets_credential_group(
    teacher, password, origin_spy, close_thread_connections
):
    signed_in = await database_sync_to_async(sign_in)(password)
    client = client_for(signed_in["token"])
    response = await database_sync_to_async(client.patch)(ME_URL, {"nickname": "伟"}, format="json")
    assert response.status_code == 200
    scope = await socket_scope([(b"host", b"localhost:8000")], path=f"/ws/?token={signed_in['token']}")
    assert origin_spy == credential_groups(scope)
    assert origin_spy[0].startswith("token.")
    # Outside a request there is no origin.
    assert events.current_event_origin() == ""


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_a_browser_requests_origin_is_its_sockets_credential_group(teacher, origin_spy, close_thread_connections):
    browser = APIClient()
    await database_sync_to_async(browser.force_login)(teacher, backend=MODEL_BACKEND)
    response = await database_sync_to_async(browser.patch)(ME_URL, {"nickname": "伟"}, format="json")
    assert response.status_code == 200
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    scope = await socket_scope(
        [(b"host", b"localhost:8000"), (b"origin", b"http://localhost:8000"), (b"cookie", cookie)]
    )
    assert origin_spy == credential_groups(scope)
    assert origin_spy[0].startswith("session.")


def test_two_users_devices_are_their_own(teacher, tianjin_teacher, password):
    sign_in(password)
    other = UserFactory()
    services.token_issue(user=other)
    client = client_for(services.token_issue(user=tianjin_teacher).key)
    assert len(client.get(DEVICES_URL).json()) == 1


def test_the_hourly_clean_up_forgets_devices_past_their_end(teacher, password):
    from accounts.tasks import clear_expired_sessions

    ended, live = sign_in(password), sign_in(password)
    DeviceSession.objects.filter(pk=ended["device"]["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    clear_expired_sessions()
    assert list(DeviceSession.objects.values_list("pk", flat=True)) == [live["device"]["id"]]


@pytest.mark.parametrize(
    ("user_agent", "name"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge (Windows)",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari (iPhone)",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
            "Mobile Safari/537.36 MicroMessenger/8.0.49",
            "WeChat (Android)",
        ),
        ("HelpdeskApp/2.1 (HarmonyOS 4.2)", "HelpdeskApp/2.1 (HarmonyOS 4.2)"),
        ("", "App"),
    ],
)
def test_a_device_is_named_after_its_user_agent(teacher, password, user_agent, name):
    response = APIClient().post(
        TOKEN_URL,
        {"username": "teacher_zw", "password": password},
        format="json",
        HTTP_USER_AGENT=user_agent,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.json()["device"]["name"] == name


def test_the_back_office_signs_a_device_out_as_its_owner_would(client, tree, teacher, password):
    operator = UserFactory(username="ops", unit=tree.root, is_staff=True, is_superuser=True)
    phone = sign_in(password, device_name="丢失的手机")
    client.force_login(operator, backend=MODEL_BACKEND)
    listed = client.get("/admin/accounts/devicesession/", {"q": "teacher_zw"})
    assert listed.status_code == 200 and "丢失的手机" in listed.content.decode()
    url = f"/admin/accounts/devicesession/{phone['device']['id']}/delete/"
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert client_for(phone["token"]).get(ME_URL).status_code == 401
