"""Account issuing and management by unit administrators (API): scope, input checks, import, roles."""

import csv
import io

import pytest
from openpyxl import Workbook
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import DeviceSession, Role, RoleAssignment, User
from tests.factories import UserFactory, grant

ACCOUNTS_URL = "/api/v1/accounts/"


def snapshot(user: User) -> tuple:
    user.refresh_from_db()
    return (
        user.name,
        user.nickname,
        user.phone,
        user.email,
        user.unit_id,
        user.user_type,
        user.is_active,
        user.password,
    )


def csv_upload(rows: list[list[str]], name: str = "accounts.csv") -> io.BytesIO:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    upload = io.BytesIO(text.getvalue().encode("utf-8"))
    upload.name = name
    return upload


@pytest.fixture
def admin(auth_client, haidian_admin) -> APIClient:
    return auth_client(haidian_admin)


# --- Who may manage ---------------------------------------------------------------------------------
def test_non_admins_get_403_on_the_collection(auth_client, tianjin_teacher, teacher, tree):
    client = auth_client(tianjin_teacher)
    assert client.get(ACCOUNTS_URL).status_code == 403
    response = client.post(
        ACCOUNTS_URL, {"account": "new_one", "name": "新人", "unit": tree.school_tj.pk}, format="json"
    )
    assert response.status_code == 403
    assert client.post(f"{ACCOUNTS_URL}{teacher.pk}/deactivate/").status_code == 403
    assert not User.objects.filter(username="new_one").exists()
    assert User.objects.get(pk=teacher.pk).is_active


def test_anonymous_gets_401(api_client, tree):
    assert api_client.get(ACCOUNTS_URL).status_code == 401


def test_list_holds_only_the_admins_subtree(admin, teacher, tianjin_teacher, haidian_admin):
    response = admin.get(ACCOUNTS_URL)
    assert response.status_code == 200
    ids = {u["id"] for u in response.json()["results"]}
    # Not the administrator itself: its role is not below its own (it changes itself on its profile).
    assert ids == {teacher.pk}
    row = next(u for u in response.json()["results"] if u["id"] == teacher.pk)
    assert {"phone", "email", "is_active", "unit", "user_type"} <= set(row)


def test_list_filters(admin, tree, teacher, haidian_admin):
    student = UserFactory(username="stu_li", name="李娜", unit=tree.school_b, user_type="student")
    gone = UserFactory(username="gone", name="刘洋", unit=tree.school_a, is_active=False)

    def ids(**params):
        response = admin.get(ACCOUNTS_URL, params)
        assert response.status_code == 200, response.json()
        return {u["id"] for u in response.json()["results"]}

    clerk = UserFactory(username="hd_clerk", name="赵敏", unit=tree.haidian)
    assert ids(unit=tree.school_a.pk) == {teacher.pk, gone.pk}
    assert ids(unit=tree.haidian.pk) == {clerk.pk}
    assert ids(unit=tree.haidian.pk, subtree="true") == {clerk.pk, teacher.pk, student.pk, gone.pk}
    assert ids(unit=tree.school_tj.pk, subtree="true") == set()
    assert ids(user_type="student") == {student.pk}
    assert ids(is_active="false") == {gone.pk}
    assert ids(search="stu") == {student.pk}
    assert ids(search="张") == {teacher.pk}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"unit": "abc"}, "unit"),
        ({"user_type": "alien"}, "user_type"),
        ({"is_active": "maybe"}, "is_active"),
        ({"search": "x" * 65}, "search"),
    ],
)
def test_list_rejects_bad_filters(admin, params, field):
    response = admin.get(ACCOUNTS_URL, params)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_list_is_cursor_paginated_by_id(admin, tree):
    made = [UserFactory(unit=tree.school_a).pk for _ in range(7)]
    seen, url = [], f"{ACCOUNTS_URL}?page_size=3&unit={tree.school_a.pk}"
    while url:
        body = admin.get(url).json()
        seen += [u["id"] for u in body["results"]]
        url = body["next"]
    assert seen == sorted(made)


# --- Create -------------------------------------------------------------------------------------------
def test_create_issues_an_account_with_a_password_shown_once(admin, tree):
    response = admin.post(
        ACCOUNTS_URL,
        {
            "account": "li_lei",
            "name": "李雷",
            "unit": tree.school_a.pk,
            "user_type": "teacher",
            "phone": "13900000000",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["user"]["account"] == "li_lei"
    assert body["user"]["unit"]["id"] == tree.school_a.pk
    created = User.objects.get(username="li_lei")
    assert created.check_password(body["password"])
    assert created.name_initials == "ll"
    # shown once: reading the account again does not reveal it
    assert "password" not in admin.get(f"{ACCOUNTS_URL}{created.pk}/").json()
    login = APIClient().post("/api/v1/auth/token/", {"username": "li_lei", "password": body["password"]}, format="json")
    assert login.status_code == 200


def test_create_with_a_chosen_password(admin, tree):
    response = admin.post(
        ACCOUNTS_URL,
        {"account": "han_mei", "name": "韩梅梅", "unit": tree.school_b.pk, "password": "Chosen-pass-77"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["password"] == "Chosen-pass-77"
    assert User.objects.get(username="han_mei").check_password("Chosen-pass-77")


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"account", "name", "unit"}),
        ({"account": "ok_acc", "name": "名字", "unit": "SCHOOL", "unknown": 1}, {"unknown"}),
        ({"account": "ok_acc", "name": "名字", "unit": "abc"}, {"unit"}),
        ({"account": "ok_acc", "name": "名" * 51, "unit": None}, {"name", "unit"}),
        ({"account": "a" * 65, "name": "名字", "unit": "SCHOOL"}, {"account"}),
        ({"account": "has space", "name": "名字", "unit": "SCHOOL"}, {"account"}),
        ({"account": "ok_acc", "name": "名字", "unit": "SCHOOL", "user_type": "alien"}, {"user_type"}),
        ({"account": "ok_acc", "name": "名字", "unit": "SCHOOL", "email": "nope"}, {"email"}),
        ({"account": "ok_acc", "name": "名字", "unit": "SCHOOL", "phone": "call me"}, {"phone"}),
        ({"account": "ok_acc", "name": "名字", "unit": "SCHOOL", "password": "123"}, {"password"}),
        ({"account": "ok_acc", "name": ["名字"], "unit": "SCHOOL"}, {"name"}),
        ({"account": "ok_acc", "name": "名字", "unit": 987654}, {"unit"}),
        ({"account": "ok_acc", "name": "名字", "unit": "TIANJIN"}, {"unit"}),
        ({"account": "teacher_zw", "name": "名字", "unit": "SCHOOL"}, {"account"}),
    ],
)
def test_create_rejects_bad_input_and_creates_nothing(admin, tree, teacher, payload, fields):
    units = {"SCHOOL": tree.school_a.pk, "TIANJIN": tree.school_tj.pk}
    payload = {k: units.get(v, v) if isinstance(v, str) else v for k, v in payload.items()}
    before = User.objects.count()
    response = admin.post(ACCOUNTS_URL, payload, format="json")
    assert response.status_code == 400, response.json()
    assert set(response.json()["fields"]) == fields
    assert User.objects.count() == before


# --- Read, edit, deactivate, reset: inside and outside the subtree ---------------------------------
def test_retrieve_inside_and_outside(admin, teacher, tianjin_teacher):
    assert admin.get(f"{ACCOUNTS_URL}{teacher.pk}/").json()["account"] == "teacher_zw"
    response = admin.get(f"{ACCOUNTS_URL}{tianjin_teacher.pk}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_edit_an_account(admin, tree, teacher):
    response = admin.patch(
        f"{ACCOUNTS_URL}{teacher.pk}/",
        {"name": "张伟伟", "unit": tree.school_b.pk, "email": ""},
        format="json",
    )
    assert response.status_code == 200, response.json()
    teacher.refresh_from_db()
    assert (teacher.name, teacher.unit_id) == ("张伟伟", tree.school_b.pk)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"account": "renamed"}, "account"),
        ({"is_active": False}, "is_active"),
        ({"name": ""}, "name"),
        ({"name": "n" * 51}, "name"),
        ({"nickname": 5 * ["x"]}, "nickname"),
        ({"unit": "TIANJIN"}, "unit"),
        ({"unit": 987654}, "unit"),
        ({"user_type": "alien"}, "user_type"),
    ],
)
def test_edit_rejects_bad_input_and_changes_nothing(admin, tree, teacher, payload, field):
    payload = {k: tree.school_tj.pk if v == "TIANJIN" else v for k, v in payload.items()}
    before = snapshot(teacher)
    response = admin.patch(f"{ACCOUNTS_URL}{teacher.pk}/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert snapshot(teacher) == before


@pytest.mark.parametrize(
    ("method", "suffix", "payload"),
    [
        ("get", "", None),
        ("patch", "", {"name": "改名"}),
        ("post", "deactivate/", None),
        ("post", "activate/", None),
        ("post", "reset-password/", None),
        ("get", "roles/", None),
        ("post", "roles/", {"role": "support_agent", "unit": "OWN"}),
    ],
)
def test_outside_the_subtree_is_404_and_nothing_changes(admin, tree, tianjin_teacher, method, suffix, payload):
    if payload and payload.get("unit") == "OWN":
        payload = {**payload, "unit": tree.school_tj.pk}
    token = account_services.token_issue(user=tianjin_teacher).device
    before = snapshot(tianjin_teacher)
    response = getattr(admin, method)(f"{ACCOUNTS_URL}{tianjin_teacher.pk}/{suffix}", payload, format="json")
    assert response.status_code == 404
    assert snapshot(tianjin_teacher) == before
    assert DeviceSession.objects.filter(pk=token.pk).exists()
    assert not RoleAssignment.objects.filter(user=tianjin_teacher).exists()


def test_deactivate_and_activate(admin, teacher):
    issued = account_services.token_issue(user=teacher)
    token = issued.device
    response = admin.post(f"{ACCOUNTS_URL}{teacher.pk}/deactivate/")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert not DeviceSession.objects.filter(pk=token.pk).exists()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    assert client.get("/api/v1/me/").status_code == 401

    response = admin.post(f"{ACCOUNTS_URL}{teacher.pk}/activate/")
    assert response.status_code == 200
    assert User.objects.get(pk=teacher.pk).is_active


def test_an_admin_cannot_deactivate_itself(admin, haidian_admin):
    # Its own administrator role is not below itself: the account is not one it manages.
    response = admin.post(f"{ACCOUNTS_URL}{haidian_admin.pk}/deactivate/")
    assert response.status_code == 404
    assert User.objects.get(pk=haidian_admin.pk).is_active


def test_reset_password(admin, teacher, password):
    token = account_services.token_issue(user=teacher).device
    response = admin.post(f"{ACCOUNTS_URL}{teacher.pk}/reset-password/")
    assert response.status_code == 200
    new_password = response.json()["password"]
    teacher.refresh_from_db()
    assert teacher.check_password(new_password) and not teacher.check_password(password)
    assert not DeviceSession.objects.filter(pk=token.pk).exists()


def test_superuser_manages_every_unit(auth_client, tree, tianjin_teacher):
    operator = UserFactory(username="operator", is_superuser=True, is_staff=True)
    response = auth_client(operator).patch(f"{ACCOUNTS_URL}{tianjin_teacher.pk}/", {"nickname": "芳"}, format="json")
    assert response.status_code == 200
    assert User.objects.get(pk=tianjin_teacher.pk).nickname == "芳"


# --- Bulk import ----------------------------------------------------------------------------------
def test_import_csv_with_bad_rows_creates_nothing_and_names_every_bad_line(admin, tree, teacher):
    upload = csv_upload(
        [
            ["账号", "姓名", "单位代码", "用户类型", "邮箱"],
            ["imp_one", "赵一", "S110108001", "教师", ""],  # line 2: good
            ["imp_two", "钱二", "S120101001", "teacher", ""],  # line 3: Tianjin, outside the subtree
            ["TEACHER_ZW", "孙三", "S110108001", "teacher", ""],  # line 4: account taken (letter case aside)
            ["imp_four", "李四", "NOPE", "teacher", ""],  # line 5: unknown unit
            ["imp_five", "周五", "S110108002", "student", "bad-mail"],  # line 6: bad e-mail
            ["IMP_one", "吴六", "S110108001", "teacher", ""],  # line 7: repeated account
            ["imp_seven", "郑七", "S110108002", "parent", ""],  # line 8: good
        ]
    )
    before = User.objects.count()
    response = admin.post(f"{ACCOUNTS_URL}import/", {"file": upload}, format="multipart")
    assert response.status_code == 400, response.json()
    fields = response.json()["fields"]
    assert sorted(name for name in fields if name.startswith("line.")) == [
        "line.3",
        "line.4",
        "line.5",
        "line.6",
        "line.7",
    ]
    assert "5" in fields["file"][0]
    assert fields["line.6"][0].startswith("邮箱：")
    assert User.objects.count() == before


def test_import_csv_of_good_rows_creates_them_all(admin, tree):
    upload = csv_upload(
        [
            ["账号", "姓名", "单位代码", "用户类型"],
            ["imp_one", "赵一", "S110108001", "教师"],
            [],
            ["imp_seven", "郑七", "S110108002", "parent"],
        ]
    )
    response = admin.post(f"{ACCOUNTS_URL}import/", {"file": upload}, format="multipart")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert [(row["line"], row["account"]) for row in body["created"]] == [(2, "imp_one"), (4, "imp_seven")]
    assert body["errors"] == []
    for row in body["created"]:
        assert User.objects.get(username=row["account"]).check_password(row["password"])
    assert User.objects.get(username="imp_one").user_type == "teacher"
    # Found in the directory like any account issued one by one.
    assert admin.get("/api/v1/users/", {"search": "zhaoyi"}).json()["results"][0]["account"] == "imp_one"


def test_import_xlsx(admin, tree):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["account", "name", "unit_code", "user_type"])
    sheet.append(["xl_one", "王五", "S110108002", "student"])
    sheet.append(["xl_two", "赵六", "S110108002", "student"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = "accounts.xlsx"
    response = admin.post(f"{ACCOUNTS_URL}import/", {"file": buffer}, format="multipart")
    assert response.status_code == 200, response.json()
    assert [row["account"] for row in response.json()["created"]] == ["xl_one", "xl_two"]
    assert User.objects.get(username="xl_one").unit_id == tree.school_b.pk


def test_import_xlsx_with_a_bad_row_is_400_naming_it(admin, tree):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["account", "name", "unit_code", "user_type"])
    sheet.append(["xl_one", "王五", "S110108002", "student"])
    sheet.append(["x", "太短", "S110108002", "student"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = "accounts.xlsx"
    response = admin.post(f"{ACCOUNTS_URL}import/", {"file": buffer}, format="multipart")
    assert response.status_code == 400
    assert "line.3" in response.json()["fields"]
    assert not User.objects.filter(username="xl_one").exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("accounts.xlsx", b"this is not a workbook"),
        ("accounts.txt", b"account,name,unit_code\n"),
        ("accounts.csv", b""),
        ("accounts.csv", "姓名,电话\n张三,1\n".encode()),
        ("accounts.csv", b"\xff\xfe\x00\x81\x00garbage\x9d"),
    ],
)
def test_import_of_an_unreadable_file_is_400(admin, tree, name, content):
    upload = io.BytesIO(content)
    upload.name = name
    before = User.objects.count()
    response = admin.post(f"{ACCOUNTS_URL}import/", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["fields"]
    assert User.objects.count() == before


def test_import_needs_a_file_and_an_admin(admin, auth_client, teacher):
    assert "file" in admin.post(f"{ACCOUNTS_URL}import/", {}, format="multipart").json()["fields"]
    upload = csv_upload([["account", "name", "unit_code"], ["imp_x", "某人", "S110108001"]])
    assert auth_client(teacher).post(f"{ACCOUNTS_URL}import/", {"file": upload}, format="multipart").status_code == 403
    assert not User.objects.filter(username="imp_x").exists()


# --- Roles ----------------------------------------------------------------------------------------
def test_grant_list_and_revoke_a_support_agent_role(admin, tree, teacher):
    url = f"{ACCOUNTS_URL}{teacher.pk}/roles/"
    response = admin.post(
        url,
        {
            "role": "support_agent",
            "unit": tree.school_a.pk,
            "handling_groups": ["hardware", "software"],
            "on_duty": False,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["role"], body["unit"]["id"], body["on_duty"]) == ("support_agent", tree.school_a.pk, False)
    assert sorted(body["handling_groups"]) == ["hardware", "software"]
    listed = admin.get(url).json()
    assert [r["id"] for r in listed] == [body["id"]]

    assert admin.delete(f"/api/v1/roles/{body['id']}/").status_code == 204
    assert not RoleAssignment.objects.filter(pk=body["id"]).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"role": "emperor", "unit": "SCHOOL"}, "role"),
        ({"unit": "SCHOOL"}, "role"),
        ({"role": "support_agent"}, "unit"),
        ({"role": "support_agent", "unit": "TIANJIN"}, "unit"),
        ({"role": "support_agent", "unit": "SCHOOL", "handling_groups": ["cooking"]}, "handling_groups"),
        ({"role": "support_agent", "unit": "SCHOOL", "handling_groups": "hardware"}, "handling_groups"),
        ({"role": "support_agent", "unit": "SCHOOL", "on_duty": "sometimes"}, "on_duty"),
        ({"role": "support_agent", "unit": "SCHOOL", "extra": 1}, "extra"),
        # administrators of 海淀区 are appointed from above, not by its own administrator
        ({"role": "unit_admin", "unit": "HAIDIAN"}, "role"),
    ],
)
def test_grant_rejects_bad_input(admin, tree, teacher, payload, field):
    units = {"SCHOOL": tree.school_a.pk, "TIANJIN": tree.school_tj.pk, "HAIDIAN": tree.haidian.pk}
    payload = {k: units.get(v, v) if isinstance(v, str) else v for k, v in payload.items()}
    response = admin.post(f"{ACCOUNTS_URL}{teacher.pk}/roles/", payload, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]
    assert not RoleAssignment.objects.filter(user=teacher).exists()


def test_a_school_admin_may_be_appointed_by_the_county(admin, tree, teacher):
    response = admin.post(
        f"{ACCOUNTS_URL}{teacher.pk}/roles/", {"role": "unit_admin", "unit": tree.school_a.pk}, format="json"
    )
    assert response.status_code == 201
    # The new school admin now manages its school's accounts through the API.
    school_admin = APIClient()
    school_admin.force_authenticate(User.objects.get(pk=teacher.pk))
    assert school_admin.get(ACCOUNTS_URL).status_code == 200


def test_revoking_a_role_outside_the_subtree_is_404(admin, tree, tianjin_teacher):
    assignment = grant(tianjin_teacher, tree.school_tj, Role.SUPPORT_AGENT)
    assert admin.delete(f"/api/v1/roles/{assignment.pk}/").status_code == 404
    assert RoleAssignment.objects.filter(pk=assignment.pk).exists()


def test_role_revocation_needs_an_admin(auth_client, tree, teacher):
    assignment = grant(teacher, tree.school_a, Role.SUPPORT_AGENT)
    assert auth_client(teacher).delete(f"/api/v1/roles/{assignment.pk}/").status_code == 403
    assert RoleAssignment.objects.filter(pk=assignment.pk).exists()
