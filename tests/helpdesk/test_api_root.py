"""GET /api/v1/: the API's index of its top-level resources, open to anonymous clients and in the schema."""

import pytest
from django.urls import URLPattern, URLResolver, resolve
from rest_framework.test import APIClient

from helpdesk.api import urls as api_urls

pytestmark = pytest.mark.django_db

ROOT = "/api/v1/"
BASE = "http://testserver"


def _top_level_prefixes(patterns, prefix: str = "") -> set[str]:
    """The first path segment of every route under /api/v1/ (``tickets``, ``org``, ``auth`` ...)."""
    found = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found |= _top_level_prefixes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route:
            found.add(route.split("/", 1)[0])
    return found


def test_the_root_lists_every_top_level_resource_without_sign_in():
    response = APIClient().get(ROOT)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["version"] == "v1" and body["name"]
    assert body["schema"] == f"{BASE}/api/schema/" and body["docs"] == f"{BASE}/api/docs/"
    resources = body["resources"]
    assert resources["tickets"] == f"{BASE}/api/v1/tickets/"
    assert resources["auth_token"] == f"{BASE}/api/v1/auth/token/"
    assert resources["org_units"] == f"{BASE}/api/v1/org/units/"
    assert resources["ticket_support_settings"] == f"{BASE}/api/v1/tickets/support-settings/{{unit_id}}/"
    # Nothing of the URLconf is left out of the index.
    listed = {url.removeprefix(f"{BASE}{ROOT}").split("/", 1)[0] for url in resources.values()}
    assert _top_level_prefixes(api_urls.urlpatterns) == listed


def test_every_url_of_the_index_answers(teacher):
    client = APIClient()
    client.force_authenticate(user=teacher)
    for name, url in client.get(ROOT).json()["resources"].items():
        path = url.removeprefix(BASE).replace("{unit_id}", "1").replace("{id}", "1")
        resolve(path)  # a route of the API, not the 404 handler
        status = client.get(path).status_code
        # Token: POST and DELETE only. A templated path names an id that may not exist here; every
        # other resource answers a GET (the directory asks for a search term: 400 naming it).
        if name == "auth_token":
            assert status == 405
        elif "{" not in url:
            assert status in (200, 400, 403), (name, status)
    assert client.get("/api/v1/tickets/").status_code == 200
    assert client.get("/api/v1/nothing-here/").status_code == 404


def test_the_root_is_in_the_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"][ROOT]["get"]
    assert operation["operationId"] == "api_root"
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    resources = schema["components"]["schemas"][body]["properties"]["resources"]
    resources_ref = resources.get("$ref") or resources["allOf"][0]["$ref"]
    properties = schema["components"]["schemas"][resources_ref.rsplit("/", 1)[-1]]["properties"]
    assert {"tickets", "auth_token", "me", "users", "accounts", "roles", "org_units", "ticket_reports"} <= set(
        properties
    )
