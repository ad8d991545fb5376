"""Login lockout behind the proxy, on the production settings under gunicorn with the headers nginx adds.

Five wrong passwords for an account from one client lock that account on that client only: another
client (another address in X-Forwarded-For, the same proxy address in REMOTE_ADDR) still signs in.
"""

from __future__ import annotations

import httpx
import pytest
from axes.models import AccessAttempt

from tests.factories import UserFactory
from tests.helpdesk.production_server import (  # noqa: F401 (fixture)
    collected_static,
    portal_login,
    production_env,
    start_gunicorn,
    through_proxy,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CLIENT_A = "58.30.1.10"
CLIENT_B = "58.30.1.20"


@pytest.fixture
def server(collected_static, tmp_path):  # noqa: F811
    yield from start_gunicorn(production_env(collected_static, tmp_path / "var"))


@pytest.fixture
def account(db):
    return UserFactory(username="proxy_teacher")


def token_login(base: str, headers: dict[str, str], username: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/auth/token/", headers=headers, json={"username": username, "password": password}, timeout=20
    )


@pytest.mark.parametrize("login", [portal_login, token_login], ids=["portal", "token-endpoint"])
def test_five_failures_lock_one_client_and_not_the_others(server, account, password, login):
    statuses = [
        # The attacker forges a fresh X-Forwarded-For entry each time: it must not reset the count.
        login(server, through_proxy(CLIENT_A, forged=f"10.0.0.{attempt}"), account.username, "wrong").status_code
        for attempt in range(5)
    ]
    # Four refusals (the portal's form again, 200; the API's 401), then the fifth locks this client.
    assert statuses[:4] in ([200] * 4, [401] * 4) and statuses[4] == 429, statuses
    locked = login(server, through_proxy(CLIENT_A), account.username, password)
    assert locked.status_code == 429, locked.text[:500]

    # Same proxy, another client: signs in with the right password.
    other = login(server, through_proxy(CLIENT_B), account.username, password)
    if login is portal_login:
        assert other.status_code == 302 and other.headers["Location"] == "/", other.text[:500]
    else:
        assert other.status_code == 200 and other.json()["token"], other.text
    # And the lock still holds for the first client.
    assert login(server, through_proxy(CLIENT_A), account.username, password).status_code == 429
    # The back office's attempt log names the client, not the proxy.
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {CLIENT_A}


def test_failures_for_one_account_do_not_lock_another_on_the_same_client(server, account, password):
    other = UserFactory(username="proxy_other")
    for _ in range(5):
        token_login(server, through_proxy(CLIENT_A), account.username, "wrong")
    assert token_login(server, through_proxy(CLIENT_A), account.username, password).status_code == 429
    assert token_login(server, through_proxy(CLIENT_A), other.username, password).status_code == 200


@pytest.fixture
def server_behind_two_proxies(collected_static, tmp_path):  # noqa: F811
    yield from start_gunicorn(production_env(collected_static, tmp_path / "var", DJANGO_PROXY_COUNT="2"))


def test_the_number_of_proxies_is_a_setting(server_behind_two_proxies, account, password):
    """A CDN in front of nginx: the header ends "client, cdn" and the client is second from the right."""
    cdn = "36.110.0.7"

    def via_cdn(client: str) -> dict[str, str]:
        return through_proxy(cdn, forged=client)

    for _ in range(5):
        token_login(server_behind_two_proxies, via_cdn(CLIENT_A), account.username, "wrong")
    assert token_login(server_behind_two_proxies, via_cdn(CLIENT_A), account.username, password).status_code == 429
    assert token_login(server_behind_two_proxies, via_cdn(CLIENT_B), account.username, password).status_code == 200
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {CLIENT_A}
