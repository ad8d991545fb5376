"""``manage.py seed_demo``: the demo units and accounts the run command loads."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts import selectors
from accounts.models import HandlingGroup, Role, RoleAssignment, User, UserSearchTerm
from helpdesk.management.commands.seed_demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from knowledge.models import Article
from orgtree.models import OrgLevel, OrgUnit
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "units": OrgUnit.objects.count(),
        "users": User.objects.count(),
        "roles": RoleAssignment.objects.count(),
        "terms": UserSearchTerm.objects.count(),
        "tickets": Ticket.objects.count(),
        "articles": Article.objects.count(),
    }


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True
    first_output = seed()
    return first_output


def test_loads_the_division_tree_when_missing_and_puts_schools_under_real_counties(seeded):
    assert "running load_divisions first" in seeded
    assert OrgUnit.objects.filter(level=OrgLevel.PROVINCE).count() == 34
    haidian = OrgUnit.objects.get(code="110108")
    assert (haidian.name, OrgUnit.objects.get_parent(haidian).name) == ("海淀区", "北京市")
    schools = OrgUnit.objects.filter(level=OrgLevel.SCHOOL)
    assert {OrgUnit.objects.get_parent(s).code for s in schools} == {"110108", "120101"}
    assert schools.filter(path__startswith=haidian.path).count() == 3


def test_running_twice_changes_nothing(seeded):
    before = counts()
    assert before["users"] == len(DEMO_ACCOUNTS)
    output = seed()
    assert "0 school(s) and 0 account(s) created" in output
    assert counts() == before


def test_demo_knowledge_articles_are_published_and_readable(seeded):
    from knowledge.selectors import published_articles

    assert Article.objects.filter(state="published").count() == 5
    teacher = User.objects.get(username="teacher_zhang")
    titles = set(published_articles(user=teacher).values_list("title", flat=True))
    assert "网络打印机无法连接的处理方法" in titles and "校园网账号忘记密码怎么办" in titles
    # 天津's teacher reads the national article only.
    tianjin = User.objects.get(username="tj_teacher")
    assert list(published_articles(user=tianjin).values_list("title", flat=True)) == ["校园网账号忘记密码怎么办"]


def test_every_demo_account_signs_in_with_the_published_password(seeded):
    for account in DEMO_ACCOUNTS:
        user = User.objects.get(username=account.username)
        assert user.check_password(DEMO_PASSWORD), account.username
        assert user.is_active
        assert user.unit.code == account.unit_code


def test_roles_are_scoped_to_the_right_units(seeded):
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    tianjin_school = OrgUnit.objects.get(code="120101D01")
    haidian_school = OrgUnit.objects.get(code="110108D01")
    assert selectors.can_manage_unit(actor=User.objects.get(username="moe_admin"), unit=tianjin_school)
    assert selectors.can_manage_unit(actor=User.objects.get(username="bj_admin"), unit=haidian_school)
    hd_admin = User.objects.get(username="hd_admin")
    assert selectors.can_manage_unit(actor=hd_admin, unit=haidian_school)
    assert not selectors.can_manage_unit(actor=hd_admin, unit=tianjin_school)
    assert not selectors.is_unit_admin(actor=User.objects.get(username="teacher_zhang"))

    agent = RoleAssignment.objects.get(user__username="hd_agent")
    assert (agent.role, agent.unit.code, agent.on_duty) == (Role.SUPPORT_AGENT, "110108", True)
    assert set(agent.handling_groups.values_list("code", flat=True)) == set(
        HandlingGroup.objects.values_list("code", flat=True)
    )
    assert agent.handling_groups.count() == 4
    assert {(r.user.username, r.role) for r in RoleAssignment.objects.filter(unit__code="110108")} >= {
        ("hd_reviewer", Role.ANSWER_REVIEWER),
        ("hd_publisher", Role.NOTICE_PUBLISHER),
        ("hd_notice_reviewer", Role.NOTICE_REVIEWER),
    }


def test_demo_teacher_is_found_in_the_directory(seeded):
    for query in ("zw", "zhangwei", "ZW", "张伟", "teacher_zhang", "张老师"):
        found = {term.user.username for term in selectors.directory_search(query=query)}
        assert "teacher_zhang" in found, query


def test_refuses_with_debug_off_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        seed()
    assert not User.objects.exists()
    seed("--force")
    assert User.objects.filter(username="admin").exists()


def test_demo_tickets_are_routed_to_the_county_pool_and_one_is_answered(seeded):
    from tickets.models import Ticket

    tickets = Ticket.objects.filter(asker__username="teacher_zhang").order_by("id")
    assert [t.state for t in tickets] == ["new", "answered"]
    assert {t.pool_unit.code for t in tickets} == {"110108"}
    assert tickets[1].solution and tickets[1].events.filter(kind="reviewed").exists()
    assert "0 demo ticket(s) filed" in seed()
    assert Ticket.objects.count() == 2
