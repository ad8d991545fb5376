"""The OpenAPI schema: valid OpenAPI 3, complete, and good enough to generate a client from."""

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from openapi_spec_validator import validate

VENV_BIN = Path(sys.executable).parent
ROOTS = ["/api/v1/auth/token/", "/api/v1/me/", "/api/v1/org/units/", "/api/v1/users/"]


@pytest.fixture
def schema(client, db) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_valid_openapi_3(schema):
    validate(schema)
    assert schema["openapi"].startswith("3.")


def test_schema_documents_the_roots_clients_rely_on(schema):
    for path in ROOTS:
        assert path in schema["paths"], path
    token = schema["paths"]["/api/v1/auth/token/"]
    assert {"post", "delete"} <= set(token)
    assert "429" in token["post"]["responses"]
    assert "tokenAuth" in schema["components"]["securitySchemes"]
    # ids are integers in the paths, so generated clients take ints
    member_id = next(
        p for p in schema["paths"]["/api/v1/org/units/{id}/members/"]["get"]["parameters"] if p["name"] == "id"
    )
    assert member_id["schema"]["type"] == "integer"


def test_directory_user_schema_says_phone_and_email_may_be_withheld(schema):
    directory = schema["components"]["schemas"]["DirectoryUser"]["properties"]
    assert "details_visible" in directory
    for name in ("phone", "email", "roles"):
        assert directory[name].get("nullable") is True, name


@pytest.fixture
def in_test_transaction():
    """Keep the test's database connection across requests, as Django's test client does: a real
    handler closes it when a request ends, which would drop the test transaction on PostgreSQL."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_openapi_python_client_generates_a_working_client(
    schema, tmp_path, monkeypatch, teacher, password, in_test_transaction
):
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps(schema), encoding="utf-8")
    config = tmp_path / "config.yaml"
    # The title is Chinese, so the package gets an explicit name; no formatter hooks are needed.
    config.write_text("package_name_override: helpdesk_client\npost_hooks: []\n", encoding="utf-8")
    package = tmp_path / "helpdesk_client"
    result = subprocess.run(
        [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(schema_file),
            "--output-path",
            str(package),
            "--meta",
            "none",
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (package / "client.py").is_file()
    assert (package / "api" / "auth").is_dir()
    assert (package / "api" / "org").is_dir()

    # The generated client really talks to the API: sign in, read the profile, search the directory.
    monkeypatch.syspath_prepend(str(tmp_path))
    from helpdesk_client import AuthenticatedClient, Client
    from helpdesk_client.api.auth import auth_token_create
    from helpdesk_client.api.me import me_retrieve
    from helpdesk_client.api.users import users_list
    from helpdesk_client.models import TokenLoginRequest

    transport = {"transport": httpx.WSGITransport(app=WSGIHandler())}
    anonymous = Client(base_url="http://testserver", httpx_args=transport)
    signed_in = auth_token_create.sync(
        client=anonymous, body=TokenLoginRequest(username="teacher_zw", password=password)
    )
    assert signed_in.user.account == "teacher_zw"
    client = AuthenticatedClient(
        base_url="http://testserver", token=signed_in.token, prefix="Token", httpx_args=transport
    )
    assert me_retrieve.sync(client=client).unit.code == "S110108001"
    found = users_list.sync(client=client, search="zw")
    assert [user.id for user in found.results] == [teacher.pk]


def test_interactive_docs_load_from_local_static_files_only(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert not re.search(r"""["'](?:https?:)?//""", html), "the docs page must not load anything from the internet"
    # Swagger UI's start-up script comes from the page's own URL (?script), not inline: the
    # Content-Security-Policy allows no inline script.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    for asset in assets:
        assert asset.startswith(("/static/", "/api/docs/?")), asset
        fetched = client.get(asset)
        assert fetched.status_code == 200, asset
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def test_the_ticket_list_documents_delta_sync(schema):
    operation = schema["paths"]["/api/v1/tickets/"]["get"]
    parameter = next(p for p in operation["parameters"] if p["name"] == "updated_after")
    assert parameter["schema"]["format"] == "date-time"
    assert "sync_token" in parameter["description"]
    assert "410" in operation["responses"]
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]
    page = schema["components"]["schemas"][page["$ref"].rsplit("/", 1)[-1]] if "$ref" in page else page
    assert page["properties"]["removed"]["items"]["type"] == "integer"
    assert page["properties"]["sync_token"]["nullable"] is True
    assert {"removed", "sync_token"} <= set(page["required"])
