"""The portal's org directory: 本单位, 单位组织 (lazy tree with htmx partials) and search."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import UserFactory

DIRECTORY = reverse("directory:directory")
HTMX = {"HTTP_HX_REQUEST": "true"}


def html(response) -> str:
    return response.content.decode()


def main(response) -> str:
    """The page without its frame (whose user menu names the signed-in account)."""
    return html(response).split("<main", 1)[1]


@pytest.fixture
def signed_in(client, teacher):
    client.force_login(teacher)
    return client


def test_every_directory_page_needs_login(client, tree):
    for url in (
        DIRECTORY,
        reverse("directory:unit_children", args=[tree.root.pk]),
        reverse("directory:unit_members", args=[tree.haidian.pk]),
        reverse("directory:search") + "?q=zw",
    ):
        response = client.get(url, **HTMX)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login"))


def test_my_unit_tab_lists_my_colleagues_only(signed_in, tree, tianjin_teacher):
    UserFactory(username="colleague", name="李娜", unit=tree.school_a)
    UserFactory(username="elsewhere", name="刘洋", unit=tree.school_b)
    page = main(signed_in.get(DIRECTORY))
    assert "本单位" in page and "单位组织" in page
    assert "海淀实验小学" in page
    assert "colleague" in page and "teacher_zw" in page
    assert "elsewhere" not in page and "tj_teacher" not in page
    assert "2 名成员" in page


def test_my_unit_tab_is_paginated(signed_in, tree, monkeypatch):
    from accounts.views import directory as views

    monkeypatch.setattr(views, "MY_UNIT_PAGE", 2)
    for n in range(3):
        UserFactory(username=f"peer{n}", unit=tree.school_a)
    first = main(signed_in.get(DIRECTORY))
    assert "teacher_zw" in first and "peer0" in first and "peer2" not in first
    assert "第 1 页，共 2 页" in first
    second = main(signed_in.get(DIRECTORY, {"tab": "mine", "page": 2}))
    assert "peer1" in second and "peer2" in second and "teacher_zw" not in second


def test_tree_tab_loads_children_lazily_beyond_the_way_to_ones_unit(signed_in, tree):
    # The way down to one's own unit is opened by the server (tests/accounts/test_directory_tree.py);
    # everything else below comes when asked for.
    page = html(signed_in.get(DIRECTORY, {"tab": "tree"}))
    assert "中华人民共和国教育部" in page
    assert reverse("directory:unit_children", args=[tree.root.pk]) not in page
    assert reverse("directory:unit_children", args=[tree.tianjin.pk]) in page or "天津市" in page

    provinces = html(signed_in.get(reverse("directory:unit_children", args=[tree.root.pk]), **HTMX))
    assert "北京市" in provinces and "天津市" in provinces
    assert "海淀区" not in provinces
    assert reverse("directory:unit_children", args=[tree.beijing.pk]) in provinces

    counties = html(signed_in.get(reverse("directory:unit_children", args=[tree.beijing.pk]), **HTMX))
    assert "海淀区" in counties and "海淀实验小学" not in counties

    schools = html(signed_in.get(reverse("directory:unit_children", args=[tree.haidian.pk]), **HTMX))
    assert "海淀实验小学" in schools and "海淀第一中学" in schools
    # Schools have no children: no [+] to click.
    assert reverse("directory:unit_children", args=[tree.school_a.pk]) not in schools


def test_children_come_a_page_at_a_time(signed_in, tree, monkeypatch):
    from accounts.views import directory as views

    monkeypatch.setattr(views, "CHILDREN_PAGE", 1)
    url = reverse("directory:unit_children", args=[tree.haidian.pk])
    first = signed_in.get(url, **HTMX)
    assert "海淀实验小学" in html(first) and "海淀第一中学" not in html(first)
    assert first.context["has_more"]
    second = signed_in.get(url, {"after": tree.school_a.path}, **HTMX)
    assert "海淀第一中学" in html(second) and "海淀实验小学" not in html(second)
    assert not second.context["has_more"]


def test_unit_members_panel(signed_in, tree, teacher):
    UserFactory(username="gone", name="杨磊", unit=tree.school_a, is_active=False)
    response = signed_in.get(reverse("directory:unit_members", args=[tree.school_a.pk]), **HTMX)
    page = html(response)
    assert "<html" not in page  # a fragment for htmx, not a whole page
    assert "海淀实验小学" in page and "teacher_zw" in page
    assert "北京市" in page  # the unit's place in the tree
    assert "gone" not in page  # deactivated accounts are not in the directory


def test_unit_members_come_a_page_at_a_time(signed_in, tree, teacher, monkeypatch):
    from accounts.views import directory as views

    monkeypatch.setattr(views, "MEMBERS_PAGE", 1)
    other = UserFactory(username="second_one", unit=tree.school_a)
    url = reverse("directory:unit_members", args=[tree.school_a.pk])
    first = html(signed_in.get(url, **HTMX))
    assert "teacher_zw" in first and "second_one" not in first
    assert f"?after={teacher.pk}" in first
    more = html(signed_in.get(url, {"after": teacher.pk}, **HTMX))
    assert "second_one" in more and "teacher_zw" not in more
    assert f"?after={other.pk}" not in more


def test_without_javascript_a_unit_link_opens_the_same_panel_in_the_page(signed_in, tree, teacher):
    response = signed_in.get(reverse("directory:unit_members", args=[tree.school_a.pk]))
    assert response.status_code == 302
    page = main(signed_in.get(response["Location"]))
    assert 'id="member-panel"' in page and "teacher_zw" in page


def test_unknown_units_are_404(signed_in, tree):
    assert signed_in.get(reverse("directory:unit_children", args=[999999]), **HTMX).status_code == 404
    assert signed_in.get(reverse("directory:unit_members", args=[999999]), **HTMX).status_code == 404
    assert signed_in.get(DIRECTORY, {"tab": "tree", "unit": "999999"}).status_code == 404


@pytest.mark.parametrize("query", ["zw", "zhangwei", "张伟", "teacher_zw", "ZW"])
def test_search_finds_zhang_wei_by_pinyin_initials_name_and_account(signed_in, tianjin_teacher, query):
    page = html(signed_in.get(reverse("directory:search"), {"q": query}, **HTMX))
    assert "teacher_zw" in page
    assert "tj_teacher" not in page
    assert "海淀实验小学" in page


def test_search_lists_a_user_once_even_when_several_terms_match(signed_in, tree):
    UserFactory(username="zw_account", name="张伟", nickname="zwei", unit=tree.school_b)
    page = html(signed_in.get(reverse("directory:search"), {"q": "zw"}, **HTMX))
    assert page.count("zw_account ·") == 1


def test_search_with_no_match_says_so(signed_in, teacher):
    page = html(signed_in.get(reverse("directory:search"), {"q": "nobody-like-this"}, **HTMX))
    assert "没有找到匹配的人员" in page


def test_search_results_are_bounded(signed_in, tree, monkeypatch):
    from accounts.views import directory as views

    monkeypatch.setattr(views, "SEARCH_TERMS", 3)
    for n in range(5):
        UserFactory(username=f"wang{n}", name="王芳", unit=tree.school_b)
    response = signed_in.get(reverse("directory:search"), {"q": "wang"}, **HTMX)
    assert len(response.context["search_results"]) <= 3
    assert "仅显示前面的匹配结果" in html(response)


def test_search_without_javascript_renders_the_directory_page(signed_in, teacher):
    response = signed_in.get(reverse("directory:search"), {"q": "zw"})
    assert response.status_code == 302
    page = main(signed_in.get(response["Location"]))
    assert "teacher_zw" in page and 'value="zw"' in page


# --- A NUL character in the address (issue 10) ------------------------------------------------------
# PostgreSQL refuses NUL in text: these answered 500. A 400 page saying what is wrong, before the
# view runs (helpdesk/core/api/middleware.py), whatever view the parameter was meant for.
@pytest.mark.parametrize(
    ("name", "params", "htmx"),
    [
        ("directory:directory", "?q=%00", False),
        ("directory:directory", "?tab=tree&q=zw%00x", False),
        ("directory:search", "?q=%00", True),
        ("directory:unit_children", "?after=%00", True),
        ("directory:unit_members", "?after=1%00", True),
    ],
)
def test_a_nul_in_the_address_is_a_400_page_not_a_500(signed_in, tree, name, params, htmx):
    args = [tree.haidian.pk] if name.startswith("directory:unit_") else []
    signed_in.raise_request_exception = False
    response = signed_in.get(reverse(name, args=args) + params, HTTP_ACCEPT_LANGUAGE="en", **(HTMX if htmx else {}))
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    page = html(response)
    assert "Null characters are not allowed." in page
    assert "In: " + ("after" if "after" in params else "q") in page


def test_the_text_percent_zero_zero_is_still_searched(signed_in, teacher):
    # "%2500" is the text "%00", not a NUL: searched like any other word.
    response = signed_in.get(DIRECTORY + "?q=%2500")
    assert response.status_code == 200
    assert response.context["query"] == "%00"
