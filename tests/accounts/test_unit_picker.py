"""The account forms ask for a unit by name, pinyin or code: a datalist that htmx refills from a
search over the units the administrator manages; a code or a unique name typed by hand works too."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import User

SEARCH = reverse("accounts:manage_unit_search")
CREATE = reverse("accounts:manage_create")


def options(client, query: str) -> list[str]:
    page = client.get(SEARCH, {"unit_code": query}, HTTP_HX_REQUEST="true").content.decode()
    return re.findall(r'<option value="([^"]+)"', page)


@pytest.fixture
def admin_client(client, haidian_admin):
    client.force_login(haidian_admin)
    return client


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("海淀", ["海淀区（110108）", "海淀实验小学（S110108001）", "海淀第一中学（S110108002）"]),
        ("实验", ["海淀实验小学（S110108001）"]),  # part of the name
        ("hdsy", ["海淀实验小学（S110108001）"]),  # pinyin initials
        ("haidiandi", ["海淀第一中学（S110108002）"]),  # full pinyin
        ("S11010800", ["海淀实验小学（S110108001）", "海淀第一中学（S110108002）"]),  # code prefix
        ("110108", ["海淀区（110108）"]),
    ],
)
def test_the_picker_finds_managed_units_by_name_pinyin_and_code(admin_client, query, expected):
    assert sorted(options(admin_client, query)) == sorted(expected)


def test_the_picker_never_offers_units_outside_the_subtree(admin_client, tree):
    assert options(admin_client, "天津") == []
    assert options(admin_client, "北京") == []  # above the administrator's unit
    assert options(admin_client, "") == []


def test_only_unit_administrators_may_search(client, teacher):
    client.force_login(teacher)
    assert client.get(SEARCH, {"q": "海淀"}).status_code == 403


def _create(client, unit_text: str):
    return client.post(CREATE, {"username": "picked", "name": "陈静", "unit_code": unit_text, "user_type": "teacher"})


@pytest.mark.parametrize(
    "unit_text", ["海淀实验小学（S110108001）", "海淀实验小学(S110108001)", "S110108001", "海淀实验小学"]
)
def test_the_form_takes_a_picked_entry_a_code_or_a_unique_name(admin_client, tree, unit_text):
    response = _create(admin_client, unit_text)
    assert response.status_code == 200
    assert User.objects.get(username="picked").unit == tree.school_a


@pytest.mark.parametrize("unit_text", ["天津市", "120000", "北京市（110000）", "没有这个单位", ""])
def test_units_not_managed_are_a_form_error(admin_client, tree, unit_text):
    response = _create(admin_client, unit_text)
    assert response.status_code == 200
    assert 'id="id_unit_code_errors"' in response.content.decode()
    assert not User.objects.filter(username="picked").exists()


def test_the_form_shows_the_picker_without_inline_script(admin_client, teacher):
    page = admin_client.get(reverse("accounts:manage_edit", args=[teacher.pk])).content.decode()
    assert 'value="海淀实验小学（S110108001）"' in page  # the current unit, as the picker writes it
    assert f'hx-get="{SEARCH}"' in page and 'list="managed-units"' in page
    assert '<datalist id="managed-units">' in page
    assert "名称、拼音或代码" in page
    for tag in re.findall(r"<script[^>]*>", page):
        assert "src=" in tag and "nonce=" in tag, tag


def test_a_unit_beyond_the_first_2000_is_found_by_pinyin_and_initials(admin_client, tree, haidian_admin):
    """Pinyin is matched on orgtree's indexed columns, not over the first units in tree order: a
    school added after 2,500 others (last in tree order) is found, and nothing outside the subtree."""
    from accounts import selectors
    from orgtree import services as org_services
    from orgtree.models import OrgLevel, OrgUnit

    many = [OrgUnit(name=f"海淀第{n}学校", code=f"S1101089{n:04d}", level=OrgLevel.SCHOOL) for n in range(2500)]
    org_services.units_bulk_add_children(parent=tree.haidian, children=many)
    last = org_services.unit_create(parent=tree.haidian, name="青龙桥小学", code="S110108999", level=OrgLevel.SCHOOL)
    # The same name outside the administrator's subtree stays out.
    org_services.unit_create(parent=tree.tianjin, name="青龙桥中学", code="S120101999", level=OrgLevel.SCHOOL)
    assert OrgUnit.objects.filter(path__startswith=tree.haidian.path, path__lt=last.path).count() > 2000

    for query in ("qinglongqiao", "QingLong", "qlqxx", "qlq"):
        assert [u.pk for u in selectors.managed_unit_search(actor=haidian_admin, query=query)] == [last.pk], query
        assert options(admin_client, query) == ["青龙桥小学（S110108999）"]
