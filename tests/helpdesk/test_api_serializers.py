"""Input serializers refuse a value of the wrong type instead of converting it (helpdesk/core/api/serializers.py;
found by schemathesis' negative tests, issue 10)."""

import pytest

from tests.helpdesk.test_api_errors import assert_error


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"nickname": 0}, "nickname", "Not a valid string."),
        ({"nickname": 1.5}, "nickname", "Not a valid string."),
        ({"nickname": True}, "nickname", "Not a valid string."),
    ],
)
def test_a_number_for_a_text_field_is_refused(auth_client, teacher, body, field, message):
    response = auth_client(teacher).patch("/api/v1/me/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert assert_error(response, 400, "invalid")["fields"] == {field: [message]}
    teacher.refresh_from_db()
    assert teacher.nickname == ""


@pytest.mark.parametrize("value", [1, 0, "yes", "on", "1"])
def test_a_boolean_field_takes_only_true_or_false(auth_client, haidian_admin, value):
    response = auth_client(haidian_admin).post(
        "/api/v1/me/duty/", {"on_duty": value}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert assert_error(response, 400, "invalid")["fields"] == {"on_duty": ["Must be a valid boolean."]}


def test_every_bad_field_is_named_not_only_the_mistyped_one(auth_client, haidian_admin, tree):
    response = auth_client(haidian_admin).post(
        "/api/v1/accounts/", {"account": "x" * 65, "name": 7, "unit": "one"}, format="json"
    )
    assert set(assert_error(response, 400, "invalid")["fields"]) == {"account", "name", "unit"}
