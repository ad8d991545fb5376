"""The policy header is cached only where nothing can make it differ (helpdesk.csp): the API's
answers share one; a page that uses a nonce always gets its own; each host names its own socket."""

import re

import pytest

pytestmark = pytest.mark.django_db


def policy(response) -> str:
    return response.headers["Content-Security-Policy"]


def nonces(header: str) -> list[str]:
    return re.findall(r"'nonce-([^']+)'", header)


def test_cached_policies_never_carry_a_page_nonce_and_pages_get_a_fresh_one(client, settings):
    settings.ALLOWED_HOSTS = ["portal.example.cn", "other.example.cn"]
    api = [client.get("/api/v1/me/", HTTP_HOST="portal.example.cn") for _ in range(3)]
    assert {policy(r) for r in api} == {policy(api[0])}
    assert nonces(policy(api[0])) == []
    pages = [client.get("/accounts/login/", HTTP_HOST="portal.example.cn") for _ in range(2)]
    page_nonces = [nonces(policy(page)) for page in pages]
    assert all(len(found) == 1 for found in page_nonces) and page_nonces[0] != page_nonces[1]
    for page, (nonce,) in zip(pages, page_nonces, strict=True):
        assert f'nonce="{nonce}"' in page.content.decode()
    # The API's policy after the pages is still the nonce-free one.
    assert policy(client.get("/api/v1/me/", HTTP_HOST="portal.example.cn")) == policy(api[0])


def test_each_host_and_scheme_names_its_own_socket(client, settings):
    settings.ALLOWED_HOSTS = ["portal.example.cn", "other.example.cn"]
    first = policy(client.get("/api/v1/me/", HTTP_HOST="portal.example.cn"))
    second = policy(client.get("/api/v1/me/", HTTP_HOST="other.example.cn"))
    secure = policy(client.get("/api/v1/me/", HTTP_HOST="portal.example.cn", secure=True))
    assert "ws://portal.example.cn" in first and "other.example.cn" not in first
    assert "ws://other.example.cn" in second
    assert "wss://portal.example.cn" in secure
