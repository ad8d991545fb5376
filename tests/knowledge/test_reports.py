"""Questions the knowledge base solved without a ticket (这解决了我的问题), as a supervisor reads them:
counted in the unit's subtree and period, on the ticket reports page and API (issue 13)."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.urls import reverse

from accounts.models import Role
from knowledge.models import SelfSolved
from knowledge.reports import self_solved_in_subtree
from knowledge.services.self_service import article_solved_my_problem
from tests.factories import UserFactory, grant
from tickets.working_time import LOCAL_TZ

API = "/api/v1/tickets/reports/"


@pytest.fixture
def solved(publish, people, tree):
    """Two 海淀 schools' teachers solved their question with an article today, and one in May 2024."""
    article = publish()
    article_solved_my_problem(user=people.teacher, article_id=article.pk, question="投影仪没有信号")
    article_solved_my_problem(user=people.teacher_b, article_id=article.pk)
    old_reader = UserFactory(username="kb_old_reader", name="赵老师", unit=tree.school_a)
    old = article_solved_my_problem(user=old_reader, article_id=article.pk)
    SelfSolved.objects.filter(pk=old.pk).update(created_at=datetime(2024, 5, 10, 9, tzinfo=LOCAL_TZ))
    return article


@pytest.fixture
def tianjin_admin(tree):
    user = UserFactory(username="tj_admin", name="天津管理员", unit=tree.tianjin, user_type="staff")
    grant(user, tree.tianjin, Role.UNIT_ADMIN)
    return user


def _count(user, unit, start=datetime(2024, 5, 1, tzinfo=LOCAL_TZ), end=datetime(2099, 1, 1, tzinfo=LOCAL_TZ)):
    return self_solved_in_subtree(user=user, unit_path=unit.path, since=start, until=end)


def test_counted_in_the_subtree_and_period_for_its_administrators_only(
    solved, people, tree, haidian_admin, tianjin_admin
):
    assert _count(haidian_admin, tree.haidian) == 3
    assert _count(haidian_admin, tree.school_a) == 2
    assert _count(haidian_admin, tree.school_b) == 1
    assert _count(people.city_admin, tree.beijing) == 3
    # The period: May 2024 holds only the old press, and the end is exclusive.
    may = datetime(2024, 6, 1, tzinfo=LOCAL_TZ)
    assert _count(haidian_admin, tree.haidian, end=may) == 1
    assert _count(haidian_admin, tree.haidian, start=may) == 2
    # Nothing happened in 天津, and 天津's admin sees nothing of 海淀.
    assert _count(tianjin_admin, tree.tianjin) == 0
    assert _count(tianjin_admin, tree.haidian) is None
    # Above one's unit, or without the administrator role, there is no figure.
    assert _count(haidian_admin, tree.beijing) is None
    assert _count(people.author, tree.haidian) is None
    assert _count(people.teacher, tree.school_a) is None
    superuser = UserFactory(username="root_kb", is_superuser=True, is_staff=True)
    assert _count(superuser, tree.root) == 3


def test_the_ticket_report_api_shows_the_count_for_the_unit_and_period(
    solved, people, tree, haidian_admin, auth_client
):
    data = auth_client(haidian_admin).get(API).json()
    assert data["unit"]["id"] == tree.haidian.pk and data["self_solved"] == 2  # the last 30 days
    data = auth_client(haidian_admin).get(API, {"unit": tree.school_b.pk}).json()
    assert data["self_solved"] == 1
    may = {"date_from": "2024-05-01", "date_to": "2024-05-31", "group_by": "type"}
    assert auth_client(haidian_admin).get(API, may).json()["self_solved"] == 1
    # A support agent reads the ticket figures of 海淀区 but not the knowledge base's.
    data = auth_client(people.author).get(API).json()
    assert data["unit"]["id"] == tree.haidian.pk and data["self_solved"] is None
    assert auth_client(haidian_admin).get(API, {"unit": tree.tianjin.pk}).status_code == 404


def test_the_ticket_reports_page_shows_the_count_to_the_supervisor(solved, people, tree, haidian_admin, client):
    client.force_login(haidian_admin)
    page = client.get(reverse("tickets:reports"), {"unit": tree.school_a.pk}).content.decode()
    assert "知识库解决、未提工单的问题：1" in page
    page = client.get(reverse("tickets:reports"), {"date_from": "2024-05-01", "date_to": "2024-05-31"})
    assert "知识库解决、未提工单的问题：1" in page.content.decode()
    page = client.get(reverse("tickets:reports")).content.decode()
    assert "知识库解决、未提工单的问题：2" in page
    client.force_login(people.author)
    page = client.get(reverse("tickets:reports"))
    assert page.status_code == 200 and "知识库解决" not in page.content.decode()
