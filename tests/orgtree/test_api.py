"""The unit directory API: roots, lazy expansion, search, ancestors, members (manual 2.3.4)."""

import pytest

from accounts.models import User
from tests.api_helpers import walk
from tests.factories import UserFactory, make_unit

UNITS_URL = "/api/v1/org/units/"


@pytest.fixture
def client(auth_client, teacher):
    return auth_client(teacher)


def test_roots(client, tree):
    response = client.get(UNITS_URL)
    assert response.status_code == 200
    (root,) = response.json()["results"]
    assert root["id"] == tree.root.pk
    assert root["code"] == "000000"
    assert root["level"] == 0
    assert root["level_display"]
    assert root["kind"] == "edu_dept"
    assert root["has_children"] is True
    assert root["parent"] is None


def test_children_expand_lazily_in_tree_order(client, tree):
    response = client.get(UNITS_URL, {"parent": tree.root.pk})
    assert [(u["name"], u["parent"]) for u in response.json()["results"]] == [
        ("北京市", tree.root.pk),
        ("天津市", tree.root.pk),
    ]
    schools = client.get(f"{UNITS_URL}{tree.haidian.pk}/children/").json()["results"]
    assert [(u["code"], u["has_children"], u["parent"]) for u in schools] == [
        ("S110108001", False, tree.haidian.pk),
        ("S110108002", False, tree.haidian.pk),
    ]


def test_children_are_paginated(client, tree):
    for i in range(4):
        make_unit(tree.heping, f"和平第{i}中学", f"S12010110{i}")
    pages = walk(client, f"{UNITS_URL}{tree.heping.pk}/children/?page_size=2")
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [u["name"] for p in pages for u in p] == ["和平小学"] + [f"和平第{i}中学" for i in range(4)]


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"parent": "abc"}, 400, "parent"),
        ({"parent": "0"}, 400, "parent"),
        ({"parent": "987654"}, 404, None),
        ({"search": ""}, 400, "search"),
        ({"search": "x" * 101}, 400, "search"),
        ({"search": "海淀", "parent": "1"}, 400, "search"),
        ({"search": "海淀\x00"}, 400, "search"),
        ({"page_size": "true"}, 400, "page_size"),
        ({"page_size": "0"}, 400, "page_size"),
        ({"page_size": "101"}, 400, "page_size"),
    ],
)
def test_bad_parameters(client, tree, params, status, field):
    response = client.get(UNITS_URL, params)
    assert response.status_code == status
    if field:
        assert field in response.json()["fields"]


def test_search_by_name_prefix_and_by_code_prefix(client, tree):
    by_name = client.get(UNITS_URL, {"search": "海淀"}).json()["results"]
    assert [u["name"] for u in by_name] == ["海淀区", "海淀实验小学", "海淀第一中学"]
    assert by_name[1]["parent"] == tree.haidian.pk
    by_code = client.get(UNITS_URL, {"search": "1201"}).json()["results"]
    assert [u["name"] for u in by_code] == ["和平区"]
    by_code = client.get(UNITS_URL, {"search": "1"}).json()["results"]
    assert [u["code"] for u in by_code] == ["110000", "110108", "120000", "120101"]


def test_search_pages_follow_the_search_order(client, tree):
    pages = walk(client, f"{UNITS_URL}?search=1&page_size=3")
    assert [u["code"] for p in pages for u in p] == ["110000", "110108", "120000", "120101"]


def test_unit_detail_with_its_ancestors(client, tree):
    response = client.get(f"{UNITS_URL}{tree.school_a.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "海淀实验小学"
    assert body["parent"] == tree.haidian.pk
    assert [a["name"] for a in body["ancestors"]] == ["中华人民共和国教育部", "北京市", "海淀区"]
    root = client.get(f"{UNITS_URL}{tree.root.pk}/").json()
    assert root["ancestors"] == [] and root["parent"] is None


def test_unknown_unit_is_404(client):
    assert client.get(f"{UNITS_URL}987654/").status_code == 404
    assert client.get(f"{UNITS_URL}987654/children/").status_code == 404
    assert client.get(f"{UNITS_URL}987654/members/").status_code == 404


def test_members_of_a_unit_show_public_fields_of_active_users(client, tree, teacher):
    UserFactory(username="gone", unit=tree.school_a, is_active=False, phone="13800000000")
    other = UserFactory(username="colleague", unit=tree.school_a, phone="13800000001")
    response = client.get(f"{UNITS_URL}{tree.school_a.pk}/members/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [u["id"] for u in results] == [teacher.pk, other.pk]
    public = {"id", "account", "name", "nickname", "avatar", "unit"}
    assert set(results[0]) == public | {"details_visible", "phone", "email", "roles"}
    # The deactivated member is not listed; a colleague of the same unit's phone is shown by the
    # directory rule (tests/accounts/test_directory_details.py has the rule both ways).
    assert "13800000000" not in response.content.decode()
    assert results[1]["phone"] == "13800000001"


def test_members_of_a_subtree_page_in_tree_order(client, tree, teacher, haidian_admin, tianjin_teacher):
    school_b = [UserFactory(unit=tree.school_b).pk for _ in range(6)]
    school_a = [teacher.pk] + [UserFactory(unit=tree.school_a).pk for _ in range(5)]
    pages = walk(client, f"{UNITS_URL}{tree.haidian.pk}/members/?subtree=true&page_size=4")
    assert [len(p) for p in pages] == [4, 4, 4, 1]
    ids = [u["id"] for p in pages for u in p]
    # 海淀区 itself, then its schools in path order, each by id; nothing from 天津市
    assert ids == [haidian_admin.pk, *sorted(school_a), *sorted(school_b)]
    assert tianjin_teacher.pk not in ids

    unit_only = walk(client, f"{UNITS_URL}{tree.haidian.pk}/members/?page_size=4")
    assert [u["id"] for p in unit_only for u in p] == [haidian_admin.pk]


def test_members_going_backwards(client, tree, teacher):
    made = sorted([teacher.pk] + [UserFactory(unit=tree.school_b).pk for _ in range(4)])
    first = client.get(f"{UNITS_URL}{tree.haidian.pk}/members/?subtree=true&page_size=2").json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()
    assert [u["id"] for u in back["results"]] == made[:2]
    assert back["previous"] is None and back["next"]


def test_members_subtree_flag_is_checked(client, tree):
    response = client.get(f"{UNITS_URL}{tree.haidian.pk}/members/", {"subtree": "perhaps"})
    assert response.status_code == 400
    assert "subtree" in response.json()["fields"]


def test_directory_needs_a_signed_in_user(api_client, tree):
    assert api_client.get(UNITS_URL).status_code == 401
    assert api_client.get(f"{UNITS_URL}{tree.haidian.pk}/members/").status_code == 401


def test_every_signed_in_user_sees_the_directory_of_other_units(auth_client, tianjin_teacher, tree, teacher):
    response = auth_client(tianjin_teacher).get(f"{UNITS_URL}{tree.school_a.pk}/members/")
    assert [u["id"] for u in response.json()["results"]] == [teacher.pk]
    assert User.objects.filter(pk=teacher.pk, is_active=True).exists()


def test_parent_with_search_is_refused_with_a_message_that_says_why(client, tree):
    response = client.get(UNITS_URL, {"search": "海淀", "parent": tree.beijing.pk}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "search": ["A search covers the whole tree; send either parent or search, not both."]
    }


def test_the_schema_documents_that_parent_and_search_exclude_each_other(client, db):
    schema = client.get("/api/schema/?format=json", HTTP_ACCEPT_LANGUAGE="en").json()
    operation = schema["paths"]["/api/v1/org/units/"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert "Not together with `search` (a 400)" in parameters["parent"]["description"]
    assert "Not together with `parent` (a 400)" in parameters["search"]["description"]
    assert "exclude each other" in operation["description"]
    assert "400" in operation["responses"]


def test_search_by_pinyin_and_by_initials(client, tree):
    by_pinyin = client.get(UNITS_URL, {"search": "HaiDian"}).json()["results"]
    # In pinyin order: haidiandi…, haidianqu, haidianshi…
    assert [u["name"] for u in by_pinyin] == ["海淀第一中学", "海淀区", "海淀实验小学"]
    by_initials = client.get(UNITS_URL, {"search": "hdsy"}).json()["results"]
    assert [u["name"] for u in by_initials] == ["海淀实验小学"]
    assert client.get(UNITS_URL, {"search": "tj"}).json()["results"][0]["name"] == "天津市"
    pages = walk(client, f"{UNITS_URL}?search=h&page_size=2")
    names = ["海淀第一中学", "海淀区", "海淀实验小学", "和平区", "和平小学"]  # hepingq… < hepingx…
    assert [u["name"] for page in pages for u in page] == names
