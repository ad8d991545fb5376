"""Content-Security-Policy on the production settings, under gunicorn behind the (imaginary) TLS proxy.

Every portal page carries the policy; it allows the platform's own scripts, styles and websocket and
nothing inline except what carries this response's nonce. That the portal really works under it is
checked in Chromium (tests/browser/test_csp.py).
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.factories import UserFactory
from tests.helpdesk.production_server import (  # noqa: F401 (fixture)
    HOST,
    collected_static,
    portal_login,
    production_env,
    start_gunicorn,
    through_proxy,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CLIENT = "58.30.1.10"


@pytest.fixture
def server(collected_static, tmp_path):  # noqa: F811
    yield from start_gunicorn(production_env(collected_static, tmp_path / "var"))


def directives(response: httpx.Response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.url}"
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def nonce_of(policy: dict[str, list[str]]) -> str:
    nonces = [value for value in policy["script-src"] if value.startswith("'nonce-")]
    assert len(nonces) == 1, policy["script-src"]
    return nonces[0].removeprefix("'nonce-").removesuffix("'")


def assert_scripts_carry_the_nonce(html: str, nonce: str) -> list[str]:
    tags = re.findall(r"<script\b[^>]*>", html)
    assert tags, "the page loads no script at all"
    for tag in tags:
        assert f'nonce="{nonce}"' in tag, tag
    return tags


def test_portal_pages_send_the_policy_and_their_scripts_carry_its_nonce(server, password):
    user = UserFactory(username="csp_teacher")
    headers = through_proxy(CLIENT)

    login_page = httpx.get(f"{server}/accounts/login/", headers=headers, timeout=20)
    assert login_page.status_code == 200
    policy = directives(login_page)
    assert policy["default-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert set(policy["script-src"]) == {"'self'", f"'nonce-{nonce_of(policy)}'"}
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'self'"]
    # The page came over HTTPS (X-Forwarded-Proto), so its websocket is wss:// to the same host.
    assert policy["connect-src"] == ["'self'", f"wss://{HOST}"]
    assert_scripts_carry_the_nonce(login_page.text, nonce_of(policy))

    signed_in = portal_login(server, headers, user.username, password)
    assert signed_in.status_code == 302, signed_in.text[:500]
    session = signed_in.cookies["sessionid"]
    home = httpx.get(f"{server}/", headers=headers | {"Cookie": f"sessionid={session}"}, timeout=20)
    assert home.status_code == 200 and "csp_teacher" in home.text
    home_nonce = nonce_of(directives(home))
    tags = assert_scripts_carry_the_nonce(home.text, home_nonce)
    assert any("realtime" in tag for tag in tags), tags
    # A fresh nonce for every response: one that repeated could be reused by injected markup.
    assert home_nonce != nonce_of(policy)


def test_api_answers_carry_the_policy_too(server):
    response = httpx.get(f"{server}/api/v1/me/", headers=through_proxy(CLIENT), timeout=20)
    assert response.status_code == 401
    assert directives(response)["default-src"] == ["'self'"]
