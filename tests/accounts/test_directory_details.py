"""Directory details (phone, e-mail, roles) by the one rule in ``accounts.scope.Scope.sees_details_of``:
oneself; staff and teachers see their unit and the units below, and role holders above them; a role
holder its subtrees; students and parents only their own school's staff and teachers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import selectors
from accounts.models import Role
from tests.factories import UserFactory, grant

PHONE = "13800138000"


@pytest.fixture
def people(tree, teacher, tianjin_teacher):
    """张伟 (teacher_zw, school A) is the viewer in most tests; the others are looked at."""
    colleague = UserFactory(username="colleague", name="李娜", unit=tree.school_a, phone=PHONE, email="ln@a.cn")
    other_school = UserFactory(username="other_school", name="刘洋", unit=tree.school_b, phone=PHONE)
    county_agent = UserFactory(username="county_agent", name="陈静", unit=tree.haidian, user_type="staff", phone=PHONE)
    grant(county_agent, tree.haidian, Role.SUPPORT_AGENT)
    county_staff = UserFactory(username="county_staff", name="杨磊", unit=tree.haidian, user_type="staff", phone=PHONE)
    student = UserFactory(username="student_a", name="小明", unit=tree.school_a, user_type="student", phone=PHONE)
    student2 = UserFactory(username="student_a2", name="小红", unit=tree.school_a, user_type="student", phone=PHONE)
    return {
        "teacher": teacher,
        "colleague": colleague,
        "other_school": other_school,
        "county_agent": county_agent,
        "county_staff": county_staff,
        "student": student,
        "student2": student2,
        "tianjin": tianjin_teacher,
    }


def visible(viewer, person) -> bool:
    (marked,) = selectors.directory_details(viewer=viewer, people=[type(person).objects.get(pk=person.pk)])
    return marked.details_visible


@pytest.mark.parametrize(
    ("viewer", "person", "expected"),
    [
        ("teacher", "teacher", True),  # oneself
        ("teacher", "colleague", True),  # same unit
        ("teacher", "student", True),  # same unit (a student of one's school)
        ("teacher", "other_school", False),  # a sibling school
        ("teacher", "county_agent", True),  # a role holder above: who supports me
        ("teacher", "county_staff", False),  # staff above without a role
        ("county_staff", "colleague", True),  # staff of a unit above
        ("county_staff", "county_agent", True),  # same unit
        ("tianjin", "colleague", False),  # another province
        ("tianjin", "county_agent", False),  # a role holder, but not above Tianjin
        ("student", "colleague", True),  # a teacher of one's own school
        ("student", "student2", False),  # never another student
        ("student", "county_agent", False),  # never anyone outside the school
        ("student", "other_school", False),
    ],
)
def test_the_rule_both_ways(people, viewer, person, expected):
    assert visible(people[viewer], people[person]) is expected


def test_a_role_holder_sees_its_subtree_and_superusers_everyone(people, tree, haidian_admin):
    assert visible(haidian_admin, people["other_school"]) is True
    assert visible(haidian_admin, people["tianjin"]) is False
    operator = UserFactory(username="op", is_superuser=True, unit=tree.root)
    assert visible(operator, people["tianjin"]) is True


def test_roles_come_with_the_details(people):
    (agent,) = selectors.directory_details(viewer=people["teacher"], people=[people["county_agent"]])
    assert [(r.role, r.unit.name) for r in agent.directory_roles] == [(Role.SUPPORT_AGENT, "海淀区")]
    (hidden,) = selectors.directory_details(viewer=people["tianjin"], people=[people["county_agent"]])
    assert hidden.directory_roles == []


# --- Portal -------------------------------------------------------------------------------------------
def test_the_portal_shows_details_to_colleagues_only(client, people, tree):
    url = reverse("directory:directory") + f"?tab=tree&unit={tree.haidian.pk}"
    client.force_login(people["teacher"])
    page = client.get(url).content.decode()
    assert "技术支持人员 · 海淀区" in page
    assert f'href="tel:{PHONE}"' in page  # the agent's phone
    client.force_login(people["tianjin"])
    page = client.get(url).content.decode()
    assert PHONE not in page
    assert "member-details" not in page


def test_the_portal_search_and_my_unit_apply_the_rule(client, people):
    client.force_login(people["student"])
    page = client.get(reverse("directory:directory"), {"tab": "mine"}).content.decode()
    assert "ln@a.cn" in page  # the teacher of one's school
    assert page.count(f"tel:{PHONE}") == 2  # the teacher and oneself, not the other student
    client.force_login(people["tianjin"])
    page = client.get(reverse("directory:search"), {"q": "colleague"}, HTTP_HX_REQUEST="true").content.decode()
    assert "李娜" in page and PHONE not in page


# --- API ----------------------------------------------------------------------------------------------
def test_the_api_members_list_applies_the_rule(auth_client, people, tree):
    url = f"/api/v1/org/units/{tree.haidian.pk}/members/"
    rows = {r["account"]: r for r in auth_client(people["teacher"]).get(url).json()["results"]}
    agent = rows["county_agent"]
    assert agent["details_visible"] is True and agent["phone"] == PHONE
    assert agent["roles"][0]["role"] == Role.SUPPORT_AGENT and agent["roles"][0]["unit"]["name"] == "海淀区"
    staff = rows["county_staff"]
    assert staff["details_visible"] is False and staff["phone"] is None and staff["roles"] is None
    rows = auth_client(people["tianjin"]).get(url).json()["results"]
    assert all(r["phone"] is None and r["email"] is None for r in rows)


def test_the_api_search_and_profile_apply_the_rule(auth_client, people):
    client = auth_client(people["student"])
    found = client.get("/api/v1/users/", {"search": "student_a2"}).json()["results"]
    assert found[0]["account"] == "student_a2" and found[0]["phone"] is None
    colleague = client.get(f"/api/v1/users/{people['colleague'].pk}/").json()
    assert colleague["email"] == "ln@a.cn" and colleague["details_visible"] is True
