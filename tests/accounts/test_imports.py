"""What the account import says, as the administrator reads it: every problem names its column as
the portal's template names it (账号, 姓名, 单位代码 …, in English the English header), and a file
without a single account is an error, never "0 accounts created"."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
IMPORT_URL = "/api/v1/accounts/import/"
NO_ACCOUNTS = "文件中没有账号"

BAD_ROWS = (
    "账号,姓名,单位代码,用户类型,手机,邮箱\n"
    "imp_ok,赵敏,S110108001,教师,,\n"  # line 2: good
    "TEACHER_ZW,重复,S110108001,teacher,,\n"  # line 3: the account is taken
    "imp_unit,钱多,S999999999,teacher,,\n"  # line 4: no such unit
    "imp_mail,周芷若,S110108002,student,,bad-email\n"  # line 5: bad e-mail
    "x,太短,S110108002,student,,\n"  # line 6: account too short
    "imp_nul,a\x00b,S110108001,teacher,,\n"  # line 7: control character in the name
)


def api_import(actor: User, name: str, content: bytes, language: str = "zh-hans"):
    client = APIClient()
    client.force_authenticate(user=actor)
    upload = io.BytesIO(content)
    upload.name = name
    return client.post(IMPORT_URL, {"file": upload}, format="multipart", HTTP_ACCEPT_LANGUAGE=language)


def xlsx(rows: list[list[str | None]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_api_errors_name_the_columns_in_chinese(haidian_admin, teacher):
    response = api_import(haidian_admin, "accounts.csv", BAD_ROWS.encode())
    assert response.status_code == 400, response.json()
    fields = response.json()["fields"]
    assert fields["line.3"][0].startswith("账号：")
    assert fields["line.4"] == ["单位代码：没有代码为 S999999999 的单位。"]
    assert fields["line.5"][0].startswith("邮箱：")
    assert fields["line.6"][0].startswith("账号：")
    assert fields["line.7"] == ["姓名：含有控制字符。"]
    text = " ".join(message for messages in fields.values() for message in messages)
    for english in ("account:", "unit_code:", "email:", "name:"):
        assert english not in text
    assert not User.objects.filter(username__startswith="imp_").exists()


def test_api_errors_in_english_name_the_english_header(haidian_admin, teacher):
    response = api_import(haidian_admin, "accounts.csv", BAD_ROWS.encode(), language="en")
    fields = response.json()["fields"]
    assert fields["line.3"][0].startswith("account: ")
    assert fields["line.4"] == ["unit_code: No unit has the code S999999999."]


def test_a_missing_column_is_named_in_chinese(haidian_admin):
    response = api_import(haidian_admin, "accounts.csv", "姓名,手机\n张三,1\n".encode())
    assert response.status_code == 400
    assert response.json()["fields"]["file"] == ["表头缺少以下列：账号, 单位代码"]


def test_the_portal_shows_chinese_column_names(client, haidian_admin, teacher):
    client.force_login(haidian_admin)
    upload = SimpleUploadedFile("accounts.csv", BAD_ROWS.encode())
    response = client.post(reverse("accounts:manage_import"), {"file": upload})
    page = response.content.decode()
    assert "账号：" in page and "单位代码：没有代码为 S999999999 的单位。" in page and "邮箱：" in page
    assert "account:" not in page and "unit_code:" not in page


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("header-only.csv", "账号,姓名,单位代码\n".encode()),
        ("blank-rows.csv", b"account,name,unit_code\n\n,,\n , ,\n"),
        ("header-only.xlsx", xlsx([["账号", "姓名", "单位代码"]])),
        ("blank-rows.xlsx", xlsx([["account", "name", "unit_code"], [None, None, None], ["", " ", ""]])),
    ],
)
def test_a_file_without_accounts_is_an_error_over_the_api(haidian_admin, name, content):
    before = User.objects.count()
    response = api_import(haidian_admin, name, content)
    assert response.status_code == 400, response.json()
    assert response.json()["fields"]["file"][0].startswith(NO_ACCOUNTS)
    assert User.objects.count() == before


@pytest.mark.parametrize(
    "content", ["账号,姓名,单位代码\n".encode("utf-8-sig"), "账号,姓名,单位代码\n,,\n\n".encode("utf-8-sig")]
)
def test_a_file_without_accounts_is_a_form_error_in_the_portal(client, haidian_admin, content):
    client.force_login(haidian_admin)
    response = client.post(reverse("accounts:manage_import"), {"file": SimpleUploadedFile("a.csv", content)})
    assert response.status_code == 200
    assert response.context["result"] is None
    assert response.context["form"].errors["file"][0].startswith(NO_ACCOUNTS)
    page = response.content.decode()
    assert NO_ACCOUNTS in page
    assert "已创建" not in page


def test_a_good_file_still_creates_its_accounts_in_the_portal(client, haidian_admin):
    UserFactory(username="someone_else")
    client.force_login(haidian_admin)
    content = "账号,姓名,单位代码\nimp_one,赵一,S110108001\n".encode("utf-8-sig")
    response = client.post(reverse("accounts:manage_import"), {"file": SimpleUploadedFile("a.csv", content)})
    assert "已创建 1 个账号" in response.content.decode()
    assert User.objects.filter(username="imp_one").exists()
