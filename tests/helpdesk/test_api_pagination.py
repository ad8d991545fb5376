"""The lists' shared paging parameters (helpdesk/core/api/pagination.py): a page size outside 1-100 or
not a number is a 400 naming ``page_size`` (issue 10: ``page_size=true`` was silently taken as 20),
and the schema says so, so that generated clients never send one."""

import pytest

from tests.helpdesk.test_api_errors import assert_error


@pytest.fixture
def lists(tree, teacher):
    return [
        "/api/v1/org/units/",
        f"/api/v1/org/units/{tree.haidian.pk}/children/",
        f"/api/v1/org/units/{tree.haidian.pk}/members/",
        "/api/v1/users/?search=zw",
        "/api/v1/tickets/",
        "/api/v1/tickets/follow-ups/",
    ]


@pytest.mark.parametrize("value", ["true", "0", "-1", "101", "1.5", "", "ten", "1e2", "０５", "99999999999999999999"])
def test_a_page_size_that_is_not_1_to_100_is_a_400_naming_it(auth_client, teacher, lists, value):
    client = auth_client(teacher)
    for url in lists:
        separator = "&" if "?" in url else "?"
        response = client.get(f"{url}{separator}page_size={value}", HTTP_ACCEPT_LANGUAGE="en")
        body = assert_error(response, 400, "invalid")
        assert body["fields"] == {"page_size": ["Enter a whole number from 1 to 100."]}, url


def test_the_account_list_checks_it_too(auth_client, haidian_admin):
    body = assert_error(auth_client(haidian_admin).get("/api/v1/accounts/?page_size=true"), 400, "invalid")
    assert list(body["fields"]) == ["page_size"]


@pytest.mark.parametrize(("value", "rows"), [("1", 1), ("2", 2), ("100", 3)])
def test_page_sizes_in_range_are_taken_as_they_are(auth_client, teacher, tree, value, rows):
    # The roots' children: 北京市, 天津市 and their subtrees; the search for 海 finds three units.
    response = auth_client(teacher).get("/api/v1/org/units/", {"search": "海", "page_size": value})
    assert response.status_code == 200
    assert len(response.json()["results"]) == rows


def test_the_schema_states_the_range_and_documents_the_400(client, db):
    schema = client.get("/api/schema/?format=json").json()
    seen = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if parameter["name"] != "page_size":
                    continue
                seen += 1
                assert parameter["schema"]["minimum"] == 1, path
                assert parameter["schema"]["maximum"] == 100, path
                assert "400" in operation["responses"], f"{method.upper()} {path}"
    assert seen >= 10  # every cursor list of the API


@pytest.mark.parametrize("value", ["x", "0", "-3", "101"])
def test_every_list_of_the_schema_refuses_a_bad_page_size(client, auth_client, haidian_admin, value):
    """Every operation that documents ``page_size`` (every list, present and future), not a chosen few:
    the check runs before the view from the schema itself, so any id in the path will do."""
    import re

    schema = client.get("/api/schema/?format=json").json()
    lists = [
        path
        for path, item in schema["paths"].items()
        if any(p["name"] == "page_size" for p in item.get("get", {}).get("parameters", []))
    ]
    assert len(lists) >= 8
    api = auth_client(haidian_admin)
    for path in lists:
        response = api.get(re.sub(r"\{[^}]+\}", "1", path), {"page_size": value}, HTTP_ACCEPT_LANGUAGE="en")
        body = assert_error(response, 400, "invalid")
        assert body["fields"] == {"page_size": ["Enter a whole number from 1 to 100."]}, path
