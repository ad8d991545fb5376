"""Multipart bodies under daphne, the ASGI server the platform runs: every bad body is the API's JSON
error, as under gunicorn and the test client.

Twisted (under daphne) used to parse POSTed multipart bodies itself and answer one it could not parse,
such as a multipart body with no parts, with a bare 400: no content type, no body.
"""

from __future__ import annotations

import httpx
import pytest

from tests.backends import redis_url
from tests.daphne_server import DaphneProcess
from tests.factories import UserFactory, api_token

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BOUNDARY = "----helpdesk-test-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture
def daphne(tmp_path):
    server = DaphneProcess(var_dir=tmp_path / "var", redis_url=redis_url()).start()
    try:
        yield server.base
    finally:
        server.stop()


def assert_api_error(response: httpx.Response) -> dict:
    assert response.status_code == 400, (response.status_code, response.headers, response.content)
    assert response.headers["Content-Type"] == "application/json", response.headers
    body = response.json()
    assert body["code"] in {"invalid", "parse_error"} and body["detail"], body
    return body


@pytest.mark.parametrize(
    "content",
    [
        f"--{BOUNDARY}--\r\n".encode(),  # a multipart body without a single part
        f"--{BOUNDARY}--".encode(),
        b"",
        f"--{BOUNDARY}\r\nnot a part at all".encode(),
    ],
    ids=["no-parts", "no-parts-no-newline", "empty", "broken-part"],
)
def test_bad_multipart_bodies_get_the_api_json_error(daphne, content):
    anonymous = httpx.post(
        f"{daphne}/api/v1/auth/token/", content=content, headers={"Content-Type": MULTIPART}, timeout=10
    )
    body = assert_api_error(anonymous)
    if body["code"] == "invalid":
        assert set(body["fields"]) == {"username", "password"}

    token = api_token(UserFactory())
    signed_in = httpx.post(
        f"{daphne}/api/v1/tickets/",
        content=content,
        headers={"Content-Type": MULTIPART, "Authorization": f"Token {token}"},
        timeout=10,
    )
    assert_api_error(signed_in)


def test_a_good_multipart_form_still_reaches_the_view(daphne, password):
    user = UserFactory()
    form = httpx.post(
        f"{daphne}/api/v1/auth/token/", files={"username": (None, user.username), "password": (None, password)}
    )
    assert form.status_code == 200, form.text
    assert form.json()["user"]["account"] == user.username
