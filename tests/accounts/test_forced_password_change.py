"""A password an administrator issued or reset is good for one sign-in: the owner must change it
before anything else, in the portal (every page leads to the password page) and in the API (403
``password_change_required``). The demo seed's published password is not forced."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services
from accounts.models import User
from tests.factories import UserFactory

LOGIN = reverse("accounts:login")
PASSWORD_PAGE = reverse("accounts:password_change")
NEW_PASSWORD = "Fresh-Password-2024"
CAPTCHA_OK = {"captcha_0": "any-key", "captcha_1": "PASSED"}


@pytest.fixture
def issued(haidian_admin, tree):
    """A teacher account just issued by 海淀区's administrator, with its one-time password."""
    return services.user_create(actor=haidian_admin, username="new_teacher", name="新老师", unit=tree.school_a)


def change_form(old: str, new: str = NEW_PASSWORD, **extra) -> dict:
    return {"old_password": old, "new_password": new, "new_password_confirm": new, **CAPTCHA_OK, **extra}


# --- Services set and clear the flag ----------------------------------------------------------------
def test_issued_accounts_must_change_their_password(issued):
    assert issued.user.password_change_required is True


def test_a_reset_forces_a_change_and_changing_clears_it(haidian_admin, teacher, password):
    assert teacher.password_change_required is False
    new = services.user_reset_password(actor=haidian_admin, user=teacher)
    teacher.refresh_from_db()
    assert teacher.password_change_required is True
    services.password_change(
        user=teacher, old_password=new, new_password=NEW_PASSWORD, new_password_confirm=NEW_PASSWORD
    )
    teacher.refresh_from_db()
    assert teacher.password_change_required is False


def test_a_failed_change_keeps_the_flag(issued):
    with pytest.raises(ValidationError):
        services.password_change(
            user=issued.user, old_password="wrong", new_password=NEW_PASSWORD, new_password_confirm=NEW_PASSWORD
        )
    issued.user.refresh_from_db()
    assert issued.user.password_change_required is True


def test_imported_accounts_must_change_their_password(haidian_admin, tree):
    content = f"account,name,unit_code,user_type,password\nimp_one,导入一,{tree.school_a.code},teacher,Imp-Passw0rd-1\n"
    result = services.users_import(actor=haidian_admin, filename="a.csv", content=content.encode())
    assert not result.errors
    assert User.objects.get(username="imp_one").password_change_required is True


def test_the_demo_seed_does_not_force_its_published_password(db, settings, monkeypatch):
    from helpdesk.management.commands import seed_demo

    settings.DEBUG = True
    # Only the accounts matter here; the demo tickets are the tickets tests' business.
    monkeypatch.setattr(seed_demo, "seed_demo_tickets", lambda: 0)
    call_command("seed_demo", verbosity=0)
    seeded = User.objects.exclude(is_superuser=True)
    assert seeded.exists()
    assert not seeded.filter(password_change_required=True).exists()


# --- Portal -------------------------------------------------------------------------------------------
def test_first_login_leads_to_the_password_page_and_every_page_follows(client, issued):
    response = client.post(LOGIN, {"username": "new_teacher", "password": issued.password})
    assert response.status_code == 302
    home = client.get(response["Location"])
    assert home.status_code == 302
    assert home["Location"].startswith(PASSWORD_PAGE)
    for url in (reverse("accounts:profile"), reverse("directory:directory"), reverse("tickets:index")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"{PASSWORD_PAGE}?next={url}"
    page = client.get(PASSWORD_PAGE).content.decode()
    assert "请先设置您自己的密码" in page
    assert "验证码" in page


def test_posts_and_htmx_requests_are_diverted_too(client, issued):
    client.force_login(issued.user)
    response = client.post(reverse("accounts:profile"), {"nickname": "x"})
    assert response.status_code == 302 and response["Location"] == PASSWORD_PAGE
    response = client.get(reverse("directory:search"), {"q": "z"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == PASSWORD_PAGE
    issued.user.refresh_from_db()
    assert issued.user.nickname == ""


def test_sign_out_static_language_and_captcha_stay_reachable(client, issued):
    client.force_login(issued.user)
    assert client.post(reverse("set_language"), {"language": "en", "next": PASSWORD_PAGE}).status_code == 302
    assert client.get(reverse("captcha-refresh"), HTTP_X_REQUESTED_WITH="XMLHttpRequest").status_code == 200
    assert client.get("/static/css/portal.css").status_code in (200, 304)
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302 and not response["Location"].startswith(PASSWORD_PAGE)


@pytest.mark.usefixtures("captcha_test_mode")
def test_changing_the_password_returns_to_the_asked_page_and_unlocks_the_portal(client, issued):
    client.force_login(issued.user)
    profile = reverse("accounts:profile")
    response = client.post(PASSWORD_PAGE, change_form(issued.password, next=profile))
    assert response.status_code == 302 and response["Location"] == profile
    assert client.get(profile).status_code == 200
    assert client.get(reverse("home")).status_code == 200
    issued.user.refresh_from_db()
    assert issued.user.password_change_required is False
    assert issued.user.check_password(NEW_PASSWORD)


@pytest.mark.usefixtures("captcha_test_mode")
def test_a_bad_old_password_is_a_form_error_and_the_lock_stays(client, issued):
    client.force_login(issued.user)
    response = client.post(PASSWORD_PAGE, change_form("wrong"))
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


@pytest.mark.usefixtures("captcha_test_mode")
def test_an_off_site_next_is_ignored(client, issued):
    client.force_login(issued.user)
    response = client.post(PASSWORD_PAGE, change_form(issued.password, next="https://evil.example/"))
    assert response["Location"] == reverse("home")


def test_after_a_reset_the_portal_is_locked_again(client, haidian_admin, teacher):
    new = services.user_reset_password(actor=haidian_admin, user=teacher)
    response = client.post(LOGIN, {"username": teacher.username, "password": new})
    assert response.status_code == 302
    assert client.get(reverse("home"))["Location"].startswith(PASSWORD_PAGE)


def test_accounts_not_forced_browse_normally(client, teacher):
    client.force_login(teacher)
    assert client.get(reverse("home")).status_code == 200


# --- API ----------------------------------------------------------------------------------------------
def token_client(user, password) -> APIClient:
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": user.username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["user"]["password_change_required"] is True
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def test_the_api_answers_password_change_required_until_changed(issued):
    client = token_client(issued.user, issued.password)
    me = client.get("/api/v1/me/")
    assert me.status_code == 200 and me.json()["password_change_required"] is True
    for method, url in (
        ("get", "/api/v1/tickets/"),
        ("get", "/api/v1/users/?search=z"),
        ("patch", "/api/v1/me/"),
        ("post", "/api/v1/me/duty/"),
        ("get", "/api/v1/org/units/"),
    ):
        response = getattr(client, method)(url, {}, format="json") if method != "get" else client.get(url)
        assert response.status_code == 403, (method, url, response.content)
        assert response.json()["code"] == "password_change_required"
    response = client.post(
        "/api/v1/me/password/",
        {"old_password": issued.password, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 200, response.content
    # The device the password was changed from keeps its token.
    assert client.get("/api/v1/tickets/").status_code == 200
    assert client.get("/api/v1/me/").json()["password_change_required"] is False


def test_an_administrator_with_a_reset_password_cannot_manage_accounts_by_api(tree, password):
    from tests.factories import grant

    admin = UserFactory(username="school_admin", unit=tree.school_a)
    grant(admin, tree.school_a)
    User.objects.filter(pk=admin.pk).update(password_change_required=True)
    client = APIClient()
    client.force_authenticate(User.objects.get(pk=admin.pk))
    response = client.get("/api/v1/accounts/")
    assert response.status_code == 403
    assert response.json()["code"] == "password_change_required"


def test_token_logout_stays_open(issued):
    client = token_client(issued.user, issued.password)
    assert client.delete("/api/v1/auth/token/").status_code == 204


def test_the_schema_documents_the_code(client, db):
    schema = client.get("/api/schema/?format=json").json()
    tickets = schema["paths"]["/api/v1/tickets/"]["get"]["responses"]["403"]["description"]
    assert "password_change_required" in tickets
    assert "403" not in schema["paths"]["/api/v1/me/password/"]["post"]["responses"]
    me_get = schema["paths"]["/api/v1/me/"]["get"]["responses"]
    assert "password_change_required" not in me_get.get("403", {}).get("description", "")
