"""One error format across the API, and no 500 whatever the client sends."""

import base64
import io
import json
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from jsonschema import Draft202012Validator, FormatChecker
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import api_token

ERROR_KEYS = {"detail", "code"}


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= ERROR_KEYS, body
    assert isinstance(body["detail"], str) and body["detail"]
    if code:
        assert body["code"] == code
    return body


def test_unauthenticated_is_401_with_a_token_challenge(api_client):
    response = api_client.get("/api/v1/me/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("header", ["Token deadbeef", "Token ", "Token a b", "Bearer x"])
def test_bad_tokens_are_401(api_client, tree, header):
    api_client.credentials(HTTP_AUTHORIZATION=header)
    assert_error(api_client.get("/api/v1/org/units/"), 401)


def test_unknown_fields_are_refused_by_name(auth_client, haidian_admin, tree):
    response = auth_client(haidian_admin).post(
        "/api/v1/accounts/",
        {
            "account": "someone",
            "name": "某人",
            "unit": tree.school_a.pk,
            "colour": "blue",
            "is_superuser": True,
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    body = assert_error(response, 400, "invalid")
    assert body["fields"] == {"colour": ["Unknown field."], "is_superuser": ["Unknown field."]}


def test_each_invalid_field_gets_its_own_message(auth_client, haidian_admin, tree):
    response = auth_client(haidian_admin).post(
        "/api/v1/accounts/",
        {"account": "x" * 65, "name": "", "unit": "one", "user_type": "alien"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    body = assert_error(response, 400, "invalid")
    assert set(body["fields"]) == {"account", "name", "unit", "user_type"}
    assert all(isinstance(m, list) and m for m in body["fields"].values())
    assert body["detail"] == "The request is invalid; see the fields."


def test_malformed_json_is_400(auth_client, teacher):
    response = auth_client(teacher).generic("PATCH", "/api/v1/me/", '{"nickname": ', content_type="application/json")
    assert_error(response, 400)


def test_a_json_list_instead_of_an_object_is_400(auth_client, teacher):
    response = auth_client(teacher).patch("/api/v1/me/", ["nickname"], format="json")
    assert_error(response, 400, "invalid")


def test_unsupported_media_type_is_415(auth_client, teacher):
    response = auth_client(teacher).generic("PATCH", "/api/v1/me/", "nickname=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_wrong_method_is_405(auth_client, teacher):
    assert_error(auth_client(teacher).put("/api/v1/me/", {}, format="json"), 405, "method_not_allowed")
    assert_error(auth_client(teacher).delete("/api/v1/org/units/"), 405, "method_not_allowed")


def test_not_found_has_the_same_shape(auth_client, teacher):
    assert_error(auth_client(teacher).get("/api/v1/org/units/424242/"), 404, "not_found")


def test_forbidden_has_the_same_shape(auth_client, teacher):
    assert_error(auth_client(teacher).get("/api/v1/accounts/"), 403, "permission_denied")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/users/?search=zw%00",
        "/api/v1/org/units/?search=%00",
        "/api/v1/org/units/?parent=99999999999999999999999",
        "/api/v1/accounts/?search=a%00",
        "/api/v1/accounts/?unit=99999999999999999999999",
        "/api/v1/org/units/99999999999999999999999/members/",
        "/api/v1/users/99999999999999999999999/",
    ],
)
def test_hostile_query_values_never_cause_a_500(auth_client, haidian_admin, tree, url):
    response = auth_client(haidian_admin).get(url)
    assert response.status_code in {200, 400, 404}
    if response.status_code != 200:
        assert_error(response, response.status_code)


def test_nul_characters_in_a_body_are_refused(auth_client, teacher):
    response = auth_client(teacher).patch("/api/v1/me/", {"nickname": "a\x00b"}, format="json")
    body = assert_error(response, 400, "invalid")
    assert "nickname" in body["fields"]


def _cursor(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!!",
        base64.urlsafe_b64encode(b"not json").decode(),
        _cursor({"p": ["zw"]}),
        _cursor({"p": ["zw", "abc"]}),
        _cursor({"p": ["zw", {"x": 1}]}),
        _cursor({"p": ["z\u0000", 1]}),
        _cursor([1, 2]),
    ],
)
def test_bad_cursors_are_404_not_500(auth_client, teacher, cursor):
    response = auth_client(teacher).get("/api/v1/users/", {"search": "zw", "cursor": cursor})
    assert_error(response, 404, "not_found")


def test_session_writes_need_the_csrf_token(tree, teacher):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(teacher, backend="django.contrib.auth.backends.ModelBackend")
    response = browser.patch("/api/v1/me/", {"nickname": "x"}, format="json")
    assert_error(response, 403)
    teacher.refresh_from_db()
    assert teacher.nickname == ""


def test_token_clients_need_no_csrf_token(tree, teacher):
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(teacher)}")
    assert client.patch("/api/v1/me/", {"nickname": "x"}, format="json").status_code == 200


# --- Found by fuzzing the OpenAPI schema with schemathesis ------------------------------------------
@pytest.mark.parametrize(
    "url", ["/api/v1/org/units/-1/", "/api/v1/users/abc/", "/api/v1/accounts/1.5/roles/", "/api/v1/nothing/"]
)
def test_urls_no_route_matches_answer_json_under_the_api(auth_client, teacher, url):
    # An id that is not a positive integer never reaches a view; Django's own 404 answered in HTML.
    response = auth_client(teacher).get(url)
    assert response["Content-Type"] == "application/json"
    assert_error(response, 404, "not_found")


def test_portal_pages_that_do_not_exist_stay_html(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.fixture
def api_schema(client, db) -> dict:
    return client.get("/api/schema/?format=json").json()


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield f"{method.upper()} {path}", operation


def test_an_account_without_email_fits_the_response_schema(auth_client, haidian_admin, teacher, api_schema):
    # "" is not a valid `format: email`: a generated client that checks formats refused /me/.
    checker = FormatChecker()
    me = auth_client(teacher).get("/api/v1/me/").json()
    account = auth_client(haidian_admin).get(f"/api/v1/accounts/{teacher.pk}/").json()
    assert me["email"] == account["email"] == ""
    for name, body in (("Profile", me), ("Account", account)):
        Draft202012Validator(
            api_schema["components"]["schemas"][name]["properties"]["email"], format_checker=checker
        ).validate(body["email"])


def test_every_signed_in_operation_documents_401(api_schema):
    missing = [
        name
        for name, operation in _operations(api_schema)
        if operation.get("security") and any(operation["security"]) and "401" not in operation["responses"]
    ]
    assert missing == []


def test_every_cursor_list_documents_the_404_of_a_bad_cursor(api_schema):
    missing = [
        name
        for name, operation in _operations(api_schema)
        if any(p["name"] == "cursor" for p in operation.get("parameters", [])) and "404" not in operation["responses"]
    ]
    assert missing == []


def test_an_uncaught_error_under_the_api_answers_json(rf):
    from helpdesk.core.api.errors import server_error

    response = server_error(rf.get("/api/v1/me/"))
    assert response.status_code == 500
    assert json.loads(response.content)["code"] == "error"
    assert server_error(rf.get("/")).headers["Content-Type"].startswith("text/html")


def _truncated_sheet_xlsx() -> bytes:
    """A workbook that opens but whose sheet XML is cut short (openpyxl reads sheets lazily)."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["account", "name", "unit_code"])
    saved = io.BytesIO()
    workbook.save(saved)
    source = zipfile.ZipFile(io.BytesIO(saved.getvalue()))
    damaged = io.BytesIO()
    with zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            target.writestr(item, data)
    return damaged.getvalue()


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        # A cell beyond the csv module's 128 KiB field limit, well inside the 5 MB upload limit.
        ("accounts.csv", b"account,name,unit_code\n" + b"x" * 200_000 + b",name,110108\n"),
        ("accounts.xlsx", _truncated_sheet_xlsx()),
    ],
)
def test_unreadable_import_files_are_400_and_create_nothing(auth_client, haidian_admin, filename, content):
    before = User.objects.count()
    response = auth_client(haidian_admin).post(
        "/api/v1/accounts/import/", {"file": SimpleUploadedFile(filename, content)}, format="multipart"
    )
    body = assert_error(response, 400, "invalid")
    assert list(body["fields"]) == ["file"]
    assert User.objects.count() == before


def test_the_schema_shows_the_account_pattern_the_server_enforces(api_schema, auth_client, haidian_admin, tree):
    pattern = api_schema["components"]["schemas"]["AccountCreateRequest"]["properties"]["account"]["pattern"]
    for account, accepted in (("zhang.wei-01", True), ("张伟", False), ("a b", False)):
        assert bool(re.search(pattern, account)) is accepted
        response = auth_client(haidian_admin).post(
            "/api/v1/accounts/", {"account": account, "name": "张伟", "unit": tree.school_a.pk}, format="json"
        )
        assert response.status_code == (201 if accepted else 400), response.content


# --- Bodies over Django's limits (issue 10) ---------------------------------------------------------
def test_a_json_body_over_the_upload_limit_answers_the_api_error_in_json(auth_client, teacher, settings):
    # Django's RequestDataTooBig escaped the view and became its bare HTML 400 page.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = '{"nickname": "' + "x" * limit + '"}'
    response = auth_client(teacher).generic(
        "PATCH", "/api/v1/me/", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response["Content-Type"] == "application/json"
    error = assert_error(response, 400, "too_large")
    assert error["detail"] == f"The request body is larger than the limit of {limit / (1024 * 1024):g} MB."
    teacher.refresh_from_db()
    assert teacher.nickname == ""


def test_a_multipart_body_with_too_many_fields_answers_json(auth_client, teacher, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    fields = {f"f{i}": "x" for i in range(10)}
    response = auth_client(teacher).patch("/api/v1/me/", fields, format="multipart")
    assert response["Content-Type"] == "application/json"
    assert_error(response, 400, "too_large")


# --- JSON under /api/ whatever DEBUG is (issue 12: run_platform's default answered HTML pages) ----------
@pytest.fixture
def debug_on(settings):
    settings.DEBUG = True  # as run_platform runs by default


def test_an_unknown_api_url_is_a_json_404_with_debug_on(debug_on, auth_client, teacher, client):
    for api in (auth_client(teacher), client):  # signed in or not
        response = api.get("/api/v1/no-such-endpoint/")
        assert response["Content-Type"] == "application/json"
        assert_error(response, 404, "not_found")
    # The portal keeps Django's debug page for developers.
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")


def test_an_uncaught_error_is_a_json_500_with_debug_on(debug_on, auth_client, teacher, monkeypatch):
    from accounts.api import me

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(me.MeView, "get", broken)
    api = auth_client(teacher)
    api.raise_request_exception = False
    response = api.get("/api/v1/me/")
    assert response["Content-Type"] == "application/json"
    body = assert_error(response, 500, "error")
    assert "boom" not in body["detail"] and "Traceback" not in response.content.decode()


def test_a_wrong_method_on_the_docs_page_is_a_json_405_with_debug_on(debug_on, client, db):
    # The docs view renders HTML only, so its refusal was the text "405 Method Not Allowed".
    response = client.post("/api/docs/")
    assert response["Content-Type"] == "application/json"
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_a_bad_host_under_the_api_is_a_json_400(debug_on, client, db):
    response = client.get("/api/v1/", HTTP_HOST="evil.example")
    assert response["Content-Type"] == "application/json"
    assert_error(response, 400, "bad_request")
