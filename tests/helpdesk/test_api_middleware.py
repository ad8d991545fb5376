"""A NUL character in a query string is a 400 naming the parameter, never a 500 (issue 10).

PostgreSQL refuses NUL in text; helpdesk/core/api/middleware.py answers before any view runs. The
portal's pages are in tests/orgtree/test_views.py."""

import pytest
from django.conf import settings

from tests.helpdesk.test_api_errors import assert_error


@pytest.mark.parametrize(
    ("url", "names"),
    [
        ("/api/v1/org/units/?search=%00", ["search"]),
        ("/api/v1/users/?search=zw%00", ["search"]),
        ("/api/v1/tickets/?q=%00", ["q"]),
        ("/api/v1/tickets/?view=mine&q=a%00b", ["q"]),
        ("/api/v1/accounts/?search=a%00&user_type=%00", ["search", "user_type"]),
        ("/api/v1/org/units/?page_size=%00", ["page_size"]),
        ("/api/v1/org/units/?cursor=%00", ["cursor"]),
        ("/api/v1/org/units/?x%00=1", ["x\ufffd"]),
    ],
)
def test_a_nul_in_an_api_query_is_a_400_naming_the_parameter(auth_client, haidian_admin, url, names):
    response = auth_client(haidian_admin).get(url, HTTP_ACCEPT_LANGUAGE="en")
    body = assert_error(response, 400, "invalid")
    assert response["Content-Type"] == "application/json"
    assert body["fields"] == {name: ["Null characters are not allowed."] for name in names}


def test_a_nul_is_refused_before_the_view_for_anonymous_clients_too(api_client, db):
    # Before authentication: a 400 for the malformed request, not a 401 that invites a retry.
    assert_error(api_client.get("/api/v1/org/units/?search=%00"), 400, "invalid")


def test_a_query_without_nul_is_untouched(auth_client, haidian_admin, tree):
    response = auth_client(haidian_admin).get("/api/v1/org/units/", {"search": "%00"})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_the_check_runs_after_the_locale_and_the_user_are_known():
    # The portal's 400 page is in the user's language and shows the signed-in frame.
    middleware = settings.MIDDLEWARE
    position = middleware.index("helpdesk.core.api.middleware.QueryStringMiddleware")
    assert position > middleware.index("django.middleware.locale.LocaleMiddleware")
    assert position > middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware")
