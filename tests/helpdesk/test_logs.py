"""The server log: a request refused on purpose (403, 404, from a view or a selector, portal or API)
is one line saying method, path, status and user; a server error keeps its traceback."""

from __future__ import annotations

import logging

import pytest
from django.urls import path, reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def boom(request):
    raise RuntimeError("a real bug")


urlpatterns = [path("boom/", boom)]


def request_lines(caplog) -> list[str]:
    """What the console handler writes for django.request's records, as text."""
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    return [formatter.format(r) for r in caplog.records if r.name == "django.request"]


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO)
    return caplog


def test_a_portal_permission_denied_is_one_line(client, teacher, log):
    client.force_login(teacher)
    assert client.get(reverse("accounts:manage")).status_code == 403
    assert request_lines(log) == [f"WARNING django.request Forbidden: GET /accounts/manage/ 403 user={teacher.pk}"]
    assert all(r.exc_info is None for r in log.records)


def test_a_selectors_http404_in_the_portal_is_one_line(client, haidian_admin, tianjin_teacher, log):
    client.force_login(haidian_admin)
    url = f"/accounts/manage/{tianjin_teacher.pk}/"
    assert client.get(url).status_code == 404
    assert request_lines(log) == [f"WARNING django.request Not Found: GET {url} 404 user={haidian_admin.pk}"]


def test_api_refusals_are_one_line_each(auth_client, teacher, haidian_admin, tianjin_teacher, log):
    assert auth_client(teacher).get("/api/v1/accounts/").status_code == 403
    url = f"/api/v1/accounts/{tianjin_teacher.pk}/"
    assert auth_client(haidian_admin).post(f"{url}reset-password/").status_code == 404
    assert request_lines(log) == [
        f"WARNING django.request Forbidden: GET /api/v1/accounts/ 403 user={teacher.pk}",
        f"WARNING django.request Not Found: POST {url}reset-password/ 404 user={haidian_admin.pk}",
    ]


def test_an_anonymous_refusal_says_so_and_a_forged_newline_stays_on_its_line(client, log):
    assert client.get("/api/v1/accounts/%0AERROR fake/").status_code in (401, 404)
    (line,) = request_lines(log)
    assert "\n" not in line and "user=anonymous" in line and "\\nERROR fake" in line


@pytest.mark.urls(__name__)
def test_a_server_error_keeps_its_traceback(client, log):
    client.raise_request_exception = False
    staff = UserFactory(username="someone")
    client.force_login(staff)
    assert client.get("/boom/").status_code == 500
    (record,) = [r for r in log.records if r.name == "django.request"]
    assert record.levelname == "ERROR" and record.exc_info is not None
    text = logging.Formatter().format(record)
    assert "Traceback (most recent call last)" in text and "RuntimeError: a real bug" in text
