"""Request bodies the JSON parser refuses with a 400 in the API's format (issue 10)."""

import pytest
from django.utils import translation
from rest_framework.settings import api_settings

from helpdesk.core.api.parsers import JSONParser
from tests.helpdesk.test_api_errors import assert_error
from tickets.models import Ticket


@pytest.mark.parametrize("body", ["[" * 10_000, '{"a":' * 10_000, "[" * 5_000 + "]" * 5_000])
def test_deeply_nested_json_is_a_400_not_a_500(auth_client, teacher, body):
    # Python's decoder recurses once per level and gave up with a RecursionError: a 500.
    client = auth_client(teacher)
    client.raise_request_exception = False
    response = client.generic("POST", "/api/v1/tickets/", body, content_type="application/json")
    assert response["Content-Type"] == "application/json"
    assert_error(response, 400, "parse_error")
    assert not Ticket.objects.exists()


def test_the_same_on_endpoints_that_take_the_default_parsers(api_client, db):
    # The token login takes the API's default parsers; the body never reaches the login check.
    api_client.raise_request_exception = False
    response = api_client.generic("POST", "/api/v1/auth/token/", "[" * 10_000, content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_the_api_parses_json_with_this_parser():
    # Every view that does not name its parsers; the schema lists it as application/json.
    assert api_settings.DEFAULT_PARSER_CLASSES[0] is JSONParser


def test_a_multipart_body_without_any_part_is_a_parse_error(rf):
    from rest_framework.exceptions import ParseError

    from helpdesk.core.api.parsers import MultiPartParser

    body = b"-15781236240--7361b8832705ef9796dcc9e524b49c2d--\r\n"
    content_type = "multipart/form-data; boundary=7361b8832705ef9796dcc9e524b49c2d"
    request = rf.patch("/api/v1/me/", body, content_type=content_type)
    with translation.override("en"), pytest.raises(ParseError, match="holds no field"):
        MultiPartParser().parse(request, content_type, {"request": request})


def test_a_multipart_body_with_fields_is_parsed(rf):
    from helpdesk.core.api.parsers import MultiPartParser

    request = rf.post("/api/v1/me/", {"nickname": "小张"})
    parsed = MultiPartParser().parse(request, request.META["CONTENT_TYPE"], {"request": request})
    assert parsed.data["nickname"] == "小张"


def test_the_profile_endpoint_with_its_own_parsers_refuses_them_too(auth_client, teacher):
    # PATCH /me/ names its parsers (it takes an avatar upload): they must be the API's own.
    client = auth_client(teacher)
    client.raise_request_exception = False
    response = client.generic("PATCH", "/api/v1/me/", "[" * 10_000, content_type="application/json")
    assert_error(response, 400, "parse_error")
    empty = client.generic("PATCH", "/api/v1/me/", b"--xyz--\r\n", content_type="multipart/form-data; boundary=xyz")
    assert empty.status_code == 400
    teacher.refresh_from_db()
    assert teacher.nickname == ""
