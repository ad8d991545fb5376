"""Token login and logout, the signed-in user's profile, password change and duty (API)."""

import io

import pytest
from PIL import Image
from rest_framework.test import APIClient

from accounts.models import DeviceSession, Role, RoleAssignment, User
from accounts.selectors import directory_search
from tests.factories import UserFactory, grant

TOKEN_URL = "/api/v1/auth/token/"
ME_URL = "/api/v1/me/"
PASSWORD_URL = "/api/v1/me/password/"
NEW_PASSWORD = "Another-secret-42"
# force_login would otherwise record the first backend, axes, which cannot load a user.
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def login(client: APIClient, username: str, password: str):
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json")


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


# --- Token login ------------------------------------------------------------------------------------
def test_token_login_returns_a_working_token_and_the_profile(api_client, teacher, password):
    response = login(api_client, "teacher_zw", password)
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["account"] == "teacher_zw"
    assert body["user"]["unit"]["code"] == "S110108001"
    me = token_client(body["token"]).get(ME_URL)
    assert me.status_code == 200
    assert me.json()["name"] == "张伟"


def test_token_login_asks_no_csrf_token_even_from_a_browser_with_a_session(teacher, password):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(teacher, backend=MODEL_BACKEND)
    response = login(client, "teacher_zw", password)
    assert response.status_code == 200, response.json()


def test_wrong_password_is_a_401_with_a_clear_message(api_client, teacher):
    response = api_client.post(
        TOKEN_URL,
        {"username": "teacher_zw", "password": "not-the-password"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    body = response.json()
    assert body["code"] == "invalid_credentials"
    assert body["detail"] == "The account or password is incorrect, or the account is deactivated."
    assert not DeviceSession.objects.filter(user=teacher).exists()


def test_deactivated_account_cannot_get_a_token(api_client, teacher, password):
    User.objects.filter(pk=teacher.pk).update(is_active=False)
    response = login(api_client, "teacher_zw", password)
    assert response.status_code == 401
    assert not DeviceSession.objects.filter(user=teacher).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": "x"}, "username"),
        ({"username": "teacher_zw"}, "password"),
        ({"username": "teacher_zw", "password": "x", "remember": True}, "remember"),
        ({"username": "a" * 65, "password": "x"}, "username"),
        ({"username": ["teacher_zw"], "password": "x"}, "username"),
        ({"username": "teacher_zw", "password": "p" * 129}, "password"),
    ],
)
def test_token_login_rejects_bad_input(api_client, teacher, payload, field):
    response = api_client.post(TOKEN_URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_lockout_after_five_failures_even_with_the_right_password(api_client, teacher, password):
    statuses = [login(api_client, "teacher_zw", f"wrong-{i}").status_code for i in range(5)]
    assert statuses[:4] == [401, 401, 401, 401]
    assert statuses[4] == 429
    response = api_client.post(
        TOKEN_URL, {"username": "teacher_zw", "password": password}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 429
    assert response.json() == {
        "detail": "Too many failed logins. This account is locked on this device for 15 minutes.",
        "code": "locked_out",
    }
    assert not DeviceSession.objects.filter(user=teacher).exists()


def test_failures_on_another_account_do_not_lock_this_one(api_client, teacher, tianjin_teacher, password):
    for i in range(5):
        login(api_client, "tj_teacher", f"wrong-{i}")
    assert login(api_client, "teacher_zw", password).status_code == 200


def test_delete_revokes_the_token(api_client, teacher, password):
    token = login(api_client, "teacher_zw", password).json()["token"]
    client = token_client(token)
    assert client.delete(TOKEN_URL).status_code == 204
    response = client.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert not DeviceSession.objects.filter(user=teacher).exists()


def test_delete_without_credentials_is_401(api_client):
    assert api_client.delete(TOKEN_URL).status_code == 401


def test_a_deactivated_users_token_is_refused(api_client, teacher, password):
    token = login(api_client, "teacher_zw", password).json()["token"]
    # Even if a token survived deactivation, an inactive user is not let in.
    User.objects.filter(pk=teacher.pk).update(is_active=False)
    assert token_client(token).get(ME_URL).status_code == 401


def test_deactivation_through_the_api_revokes_the_token(api_client, teacher, haidian_admin, password):
    token = login(api_client, "teacher_zw", password).json()["token"]
    admin = APIClient()
    admin.force_authenticate(haidian_admin)
    assert admin.post(f"/api/v1/accounts/{teacher.pk}/deactivate/").status_code == 200
    assert token_client(token).get(ME_URL).status_code == 401
    assert not DeviceSession.objects.filter(user=teacher).exists()


# --- Profile ----------------------------------------------------------------------------------------
def test_me_shows_the_own_record_with_roles(auth_client, haidian_admin, tree):
    response = auth_client(haidian_admin).get(ME_URL)
    assert response.status_code == 200
    body = response.json()
    assert body["account"] == "hd_admin"
    assert body["unit"] == {"id": tree.haidian.pk, "name": "海淀区", "code": "110108", "level": 3}
    assert [(r["role"], r["unit"]["id"]) for r in body["roles"]] == [("unit_admin", tree.haidian.pk)]
    assert "password" not in body


def test_me_requires_authentication(api_client):
    response = api_client.get(ME_URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert set(response.json()) == {"detail", "code"}


def test_profile_edit_saves_and_updates_the_directory(auth_client, teacher):
    response = auth_client(teacher).patch(
        ME_URL, {"nickname": "伟哥", "phone": "010-12345678", "email": "zw@example.cn"}, format="json"
    )
    assert response.status_code == 200, response.json()
    teacher.refresh_from_db()
    assert (teacher.nickname, teacher.phone, teacher.email) == ("伟哥", "010-12345678", "zw@example.cn")
    assert {t.user_id for t in directory_search(query="伟哥")} == {teacher.pk}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "Someone else"}, "name"),
        ({"unit": 1}, "unit"),
        ({"nickname": "n" * 51}, "nickname"),
        ({"nickname": {"a": 1}}, "nickname"),
        ({"phone": "call me"}, "phone"),
        ({"phone": "1" * 21}, "phone"),
        ({"email": "not-an-email"}, "email"),
    ],
)
def test_profile_edit_rejects_bad_input_and_changes_nothing(auth_client, teacher, payload, field):
    response = auth_client(teacher).patch(ME_URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    teacher.refresh_from_db()
    assert (teacher.name, teacher.nickname, teacher.phone) == ("张伟", "", "")


def test_avatar_upload_by_multipart(auth_client, teacher):
    upload = io.BytesIO(png_bytes())
    upload.name = "me.png"
    response = auth_client(teacher).patch(ME_URL, {"avatar": upload, "nickname": "小张"}, format="multipart")
    assert response.status_code == 200, response.json()
    assert response.json()["avatar"].endswith(".png")
    teacher.refresh_from_db()
    assert teacher.avatar.name and teacher.nickname == "小张"
    # null removes it
    response = auth_client(teacher).patch(ME_URL, {"avatar": None}, format="json")
    assert response.status_code == 200
    assert response.json()["avatar"] is None


def test_avatar_that_is_not_an_image_is_refused(auth_client, teacher):
    upload = io.BytesIO(b"MZ\x90\x00 definitely not a picture")
    upload.name = "me.png"
    response = auth_client(teacher).patch(ME_URL, {"avatar": upload}, format="multipart")
    assert response.status_code == 400
    assert "avatar" in response.json()["fields"]
    teacher.refresh_from_db()
    assert not teacher.avatar


# --- Password change --------------------------------------------------------------------------------
def test_password_change_by_a_device_signs_out_the_others_and_keeps_it(api_client, teacher, password):
    this_phone = login(api_client, "teacher_zw", password).json()["token"]
    other_phone = login(APIClient(), "teacher_zw", password).json()["token"]
    response = token_client(this_phone).post(
        PASSWORD_URL,
        {"old_password": password, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["token"] is None
    assert token_client(this_phone).get(ME_URL).status_code == 200
    assert token_client(other_phone).get(ME_URL).status_code == 401
    assert login(APIClient(), "teacher_zw", NEW_PASSWORD).status_code == 200


def test_password_change_in_a_session_keeps_the_session_and_revokes_tokens(api_client, teacher, password):
    old_token = login(api_client, "teacher_zw", password).json()["token"]
    teacher.refresh_from_db()  # signing in may have upgraded the password hash
    browser = APIClient()
    browser.force_login(teacher, backend=MODEL_BACKEND)
    response = browser.post(
        PASSWORD_URL,
        {"old_password": password, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["token"] is None
    assert browser.get(ME_URL).status_code == 200
    assert token_client(old_token).get(ME_URL).status_code == 401


OLD = object()  # stands for the user's current password


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (
            {"old_password": "wrong", "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
            "old_password",
        ),
        ({"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}, "old_password"),
        (
            {"old_password": OLD, "new_password": "12345678", "new_password_confirm": "12345678"},
            "new_password",
        ),
        (
            {"old_password": OLD, "new_password": NEW_PASSWORD, "new_password_confirm": "x" + NEW_PASSWORD},
            "new_password_confirm",
        ),
        (
            {
                "old_password": OLD,
                "new_password": NEW_PASSWORD,
                "new_password_confirm": NEW_PASSWORD,
                "otp": "1",
            },
            "otp",
        ),
        ({"old_password": OLD, "new_password": "p" * 129, "new_password_confirm": "p" * 129}, "new_password"),
        (
            {"old_password": OLD, "new_password": 12345678901, "new_password_confirm": [1]},
            "new_password_confirm",
        ),
    ],
)
def test_password_change_rejects_bad_input(auth_client, teacher, password, payload, field):
    payload = {k: password if v is OLD else v for k, v in payload.items()}
    response = auth_client(teacher).post(PASSWORD_URL, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    teacher.refresh_from_db()
    assert teacher.check_password(password)


# --- Duty ---------------------------------------------------------------------------------------------
def test_agent_goes_off_and_on_duty(auth_client, tree):
    agent = UserFactory(username="agent1", unit=tree.haidian)
    assignment = grant(agent, tree.haidian, Role.SUPPORT_AGENT)
    response = auth_client(agent).post("/api/v1/me/duty/", {"on_duty": False}, format="json")
    assert response.status_code == 200
    assert response.json()[0]["on_duty"] is False
    assignment.refresh_from_db()
    assert assignment.on_duty is False
    assert auth_client(agent).post("/api/v1/me/duty/", {"on_duty": True}, format="json").status_code == 200
    assignment.refresh_from_db()
    assert assignment.on_duty is True


def test_duty_is_for_agents_only_and_checks_input(auth_client, teacher, tree):
    assert auth_client(teacher).post("/api/v1/me/duty/", {"on_duty": False}, format="json").status_code == 403
    agent = UserFactory(username="agent2", unit=tree.haidian)
    grant(agent, tree.haidian, Role.SUPPORT_AGENT)
    client = auth_client(agent)
    assert "on_duty" in client.post("/api/v1/me/duty/", {"on_duty": "perhaps"}, format="json").json()["fields"]
    assert "on_duty" in client.post("/api/v1/me/duty/", {}, format="json").json()["fields"]
    other = RoleAssignment.objects.create(user=agent, unit=tree.school_a, role=Role.ANSWER_REVIEWER)
    response = client.post("/api/v1/me/duty/", {"on_duty": False, "assignment": other.pk}, format="json")
    assert response.status_code == 400
    assert "assignment" in response.json()["fields"]
