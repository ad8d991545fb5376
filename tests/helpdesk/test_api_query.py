"""Query parameters are checked against the operation's OpenAPI parameters (helpdesk/core/api/query.py,
run by helpdesk/core/api/middleware.py): an undocumented one is refused as an unknown body field is, and
booleans and integers must be of the documented type (issue 10; issue 12's inconsistency)."""

import re

import pytest
from django.urls import resolve

from helpdesk.core.api.query import documented_parameters, operation_key
from tests.helpdesk.test_api_errors import assert_error


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/org/units/?colour=blue",
        "/api/v1/org/units/?search=海淀&parnet=1",
        "/api/v1/users/?search=zw&limit=5",
        "/api/v1/tickets/?view=mine&offset=20",
        "/api/v1/me/?fields=name",
        "/api/v1/org/units/{unit}/?expand=children",
    ],
)
def test_an_undocumented_query_parameter_is_a_400_naming_it(auth_client, teacher, tree, url):
    response = auth_client(teacher).get(url.format(unit=tree.haidian.pk), HTTP_ACCEPT_LANGUAGE="en")
    body = assert_error(response, 400, "invalid")
    ((name, messages),) = body["fields"].items()
    assert name in url and messages == ["Unknown field."]


def test_an_undocumented_query_parameter_on_a_write_is_refused_and_nothing_changes(auth_client, teacher):
    response = auth_client(teacher).patch("/api/v1/me/?nickname=x", {"nickname": "小张"}, format="json")
    assert_error(response, 400, "invalid")
    teacher.refresh_from_db()
    assert teacher.nickname == ""


@pytest.mark.parametrize(
    ("query", "name", "message"),
    [
        ("subtree=1", "subtree", "Must be true or false."),
        ("subtree=yes", "subtree", "Must be true or false."),
        ("subtree=", "subtree", "Must be true or false."),
        ("page_size=true", "page_size", "Enter a whole number from 1 to 100."),
        ("page_size=1.0", "page_size", "Enter a whole number from 1 to 100."),
        ("page_size=5&page_size=10", "page_size", "Give this parameter once."),
        ("subtree=true&subtree=false", "subtree", "Give this parameter once."),
    ],
)
def test_booleans_and_integers_must_be_of_the_documented_type(auth_client, teacher, tree, query, name, message):
    url = f"/api/v1/org/units/{tree.haidian.pk}/members/?{query}"
    body = assert_error(auth_client(teacher).get(url, HTTP_ACCEPT_LANGUAGE="en"), 400, "invalid")
    assert body["fields"] == {name: [message]}


@pytest.mark.parametrize("query", ["subtree=true", "subtree=false", "page_size=1&subtree=true", ""])
def test_documented_parameters_of_the_right_type_are_taken(auth_client, teacher, tree, query):
    response = auth_client(teacher).get(f"/api/v1/org/units/{tree.haidian.pk}/members/?{query}")
    assert response.status_code == 200, response.content


def test_an_integer_parameter_is_checked_against_its_documented_minimum(auth_client, teacher):
    body = assert_error(auth_client(teacher).get("/api/v1/org/units/?parent=0", HTTP_ACCEPT_LANGUAGE="en"), 400)
    assert body["fields"] == {"parent": ["Enter a whole number of at least 1."]}


def test_every_operation_of_the_schema_is_checked(client, db):
    # An operation the check could not find would silently take any parameter again.
    schema = client.get("/api/schema/?format=json").json()
    documented = documented_parameters()
    missing = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            url = re.sub(r"\{[a-z_]+\}", "1", path)  # every path parameter is an integer id or number
            key = operation_key(resolve(url).func, method)
            listed = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            if key not in documented or set(documented[key]) != listed:
                missing.append(f"{method.upper()} {path}")
    assert missing == []


def test_every_operation_documents_the_400(client, db):
    schema = client.get("/api/schema/?format=json").json()
    missing = [
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "400" not in operation["responses"]
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("query", "message"),
    [("view=everything", '"everything" is not a valid choice.'), ("view=", '"" is not a valid choice.')],
)
def test_a_value_outside_the_documented_choices_is_refused(auth_client, teacher, query, message):
    body = assert_error(auth_client(teacher).get(f"/api/v1/tickets/?{query}", HTTP_ACCEPT_LANGUAGE="en"), 400)
    assert body["fields"] == {"view": [message]}
