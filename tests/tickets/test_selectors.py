"""Who sees which ticket, the workbench lists, and 答案查询 search (Chinese words, filters)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.http import Http404
from django.utils import timezone

from accounts.models import Role, User
from tests.concurrency import require_postgres
from tests.factories import UserFactory, grant
from tickets import selectors, services
from tickets.api.serializers import TicketListSerializer
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _numbers(queryset):
    return sorted(queryset.values_list("number", flat=True))


def test_scope_asker_pools_above_and_supervisors_see_it_other_units_do_not(
    new_ticket, staff, teacher, tianjin_teacher, tree
):
    ticket = new_ticket()
    for user in (
        teacher,
        staff.agent,
        staff.agent2,
        staff.reviewer,
        staff.supervisor,
        staff.city_agent,
        staff.top_agent,
    ):
        assert selectors.ticket_get(user=user, pk=ticket.pk) == ticket
    colleague = UserFactory(username="same_school", unit=tree.school_a)
    for outsider in (tianjin_teacher, staff.tianjin_agent, colleague):
        with pytest.raises(Http404):
            selectors.ticket_get(user=outsider, pk=ticket.pk)
        assert not selectors.ticket_search(user=outsider, q="投影仪").exists()


def test_a_school_agent_does_not_see_the_neighbouring_schools_tickets(new_ticket, tree):
    school_b_agent = UserFactory(username="b_agent", unit=tree.school_b)
    grant(school_b_agent, tree.school_b, Role.SUPPORT_AGENT)
    ticket = new_ticket()
    with pytest.raises(Http404):
        selectors.ticket_get(user=school_b_agent, pk=ticket.pk)


def test_workbench_lists(new_ticket, staff, teacher):
    first, second = new_ticket(), new_ticket(title="电子白板触控失灵")
    assert (first.assignee, second.assignee) == (staff.agent, staff.agent2)
    assert _numbers(selectors.ticket_list(user=teacher, view="mine")) == sorted([first.number, second.number])
    assert _numbers(selectors.ticket_list(user=staff.agent, view="assigned")) == [first.number]
    assert _numbers(selectors.ticket_list(user=staff.agent, view="pool")) == sorted([first.number, second.number])
    services.ticket_accept(ticket=first, agent=staff.agent)
    assert _numbers(selectors.ticket_list(user=staff.agent, view="pool")) == [second.number]
    services.ticket_submit_answer(ticket=Ticket.objects.get(pk=first.pk), agent=staff.agent, solution="答")
    assert _numbers(selectors.ticket_list(user=staff.reviewer, view="review")) == [first.number]
    assert not selectors.ticket_list(user=staff.agent, view="review").exists()
    assert not selectors.ticket_list(user=teacher, view="assigned").exists()


def _handled(user) -> list[int]:
    # A fresh user object, as each request has: the user's roles are read once per object.
    user = User.objects.get(pk=user.pk)
    return list(selectors.ticket_list(user=user, view="handled").values_list("pk", flat=True))


def _visible(user) -> list[int]:
    return list(selectors.visible_tickets(user=user).order_by("-id").values_list("pk", flat=True))


def _where(queryset) -> str:
    return str(queryset.query).split(" WHERE ", 1)[1]


def test_handled_is_everything_visible_newest_first_at_every_level(new_ticket, staff, tree, tianjin_teacher):
    """The handled list reads a subtree through its own index (12 and 16 long paths) or the path
    range (others), and leaves out the asker half of the OR when it adds nothing: same tickets as
    visible_tickets either way."""
    school_agent = UserFactory(username="sa_agent", unit=tree.school_a, user_type="staff")
    grant(school_agent, tree.school_a, Role.SUPPORT_AGENT)
    superuser = UserFactory(username="root_su", unit=tree.root, is_superuser=True)
    made = [new_ticket(), new_ticket(asker=tianjin_teacher), new_ticket(asker=staff.agent), new_ticket()]
    made.append(new_ticket(asker=UserFactory(username="b_teacher", unit=tree.school_b)))
    for user in (
        staff.agent,  # 海淀区: a 12-long path
        school_agent,  # a school: 16 long
        staff.city_agent,  # 北京市: 8 long, a range
        staff.top_agent,  # the root
        staff.tianjin_agent,
        staff.supervisor,
        staff.reviewer,
        superuser,
    ):
        assert _handled(user) == _visible(user), user.username
    assert _handled(staff.agent) == [made[4].pk, made[3].pk, made[2].pk, made[0].pk]
    assert _handled(school_agent) == [made[3].pk, made[0].pk]
    # The agent's own question is inside the subtree: no OR on the asker.
    agent = User.objects.get(pk=staff.agent.pk)
    where = _where(selectors.ticket_list(user=agent, view="handled"))
    assert "asker_id" not in where and " OR " not in where


def test_handled_keeps_what_a_moved_agent_asked_elsewhere(new_ticket, staff, tree, tianjin_teacher):
    mover = UserFactory(username="mover", unit=tree.school_tj, user_type="staff")
    asked_in_tianjin = new_ticket(asker=mover)
    mover.unit = tree.haidian
    mover.save(update_fields=["unit"])
    grant(mover, tree.haidian, Role.SUPPORT_AGENT)
    haidian = new_ticket()
    assert _handled(mover) == [haidian.pk, asked_in_tianjin.pk] == _visible(mover)
    assert "asker_id" in _where(selectors.ticket_list(user=User.objects.get(pk=mover.pk), view="handled"))


def test_list_rows_give_the_same_json_as_the_related_rows(new_ticket, staff, tree):
    """ticket_list_rows carries the references' names for the list's fast serialization; the
    generic one, from the related rows, must give the same row."""
    unassigned = new_ticket()
    Ticket.objects.filter(pk=unassigned.pk).update(assignee=None, pool_unit=None)
    accepted = services.ticket_accept(ticket=new_ticket(title="校园网断网"), agent=staff.agent2)
    tickets = selectors.ticket_list(user=User.objects.get(pk=staff.supervisor.pk), view="handled")
    rows = list(selectors.ticket_list_rows(tickets))
    assert [row.pk for row in rows] == [accepted.pk, unassigned.pk]
    assert all("unit_name" in row.__dict__ for row in rows)  # what the serializer's fast path reads
    related = list(tickets)
    fast = TicketListSerializer(rows, many=True).data
    assert fast == TicketListSerializer(related, many=True).data
    assert fast[1]["assignee"] is None and fast[1]["pool_unit"] is None
    assert fast[0]["assignee"] == {"id": staff.agent2.pk, "account": "st_agent2", "name": "陈静"}
    assert fast[0]["unit"] == {"id": tree.school_a.pk, "name": "海淀实验小学"}


def test_due_soon_and_breached_lists(new_ticket, staff):
    ticket = new_ticket(priority="P1")  # first response within 2 hours
    # Unconfirmed, the ticket's nearest deadline is its receipt: overdue once that has passed.
    past_receipt = ticket.ack_due_at + timedelta(minutes=1)
    assert _numbers(selectors.ticket_list(user=staff.agent, view="breached", now=past_receipt)) == [ticket.number]
    # Accepted, the first response deadline is the one that counts.
    ticket = services.ticket_accept(ticket=ticket, agent=ticket.assignee)
    soon = ticket.response_due_at - timedelta(minutes=30)
    assert _numbers(selectors.ticket_list(user=staff.agent, view="due_soon", now=soon)) == [ticket.number]
    assert not selectors.ticket_list(user=staff.agent, view="breached", now=soon).exists()
    late = ticket.response_due_at + timedelta(minutes=1)
    assert _numbers(selectors.ticket_list(user=staff.agent, view="breached", now=late)) == [ticket.number]
    assert not selectors.ticket_list(user=staff.tianjin_agent, view="breached", now=late).exists()


def test_search_by_chinese_words_in_title_description_and_answer(new_ticket, staff, teacher):
    projector = new_ticket(title="投影仪无法开机", description="指示灯常亮")
    network = new_ticket(title="校园网断网", description="教学楼三层无线网络连不上", type="software")
    services.ticket_accept(ticket=network, agent=network.assignee)
    services.ticket_submit_answer(
        ticket=Ticket.objects.get(pk=network.pk), agent=network.assignee, solution="重启交换机后恢复"
    )
    # A draft waiting for review is in nobody's search (the asker's would reveal it); the answer
    # is found once it is published.
    assert not selectors.ticket_search(user=staff.agent, q="交换机").exists()
    services.ticket_approve(ticket=Ticket.objects.get(pk=network.pk), reviewer=staff.reviewer)
    for query, expected in [
        ("投影仪", [projector]),
        ("投影", [projector]),
        ("开机", [projector]),
        ("无线网络", [network]),
        ("交换机", [network]),
        ("网 断", [network]),
        ("投影仪 断网", []),
        ("打印机", []),
    ]:
        found = selectors.ticket_search(user=staff.agent, q=query)
        assert _numbers(found) == _numbers(Ticket.objects.filter(pk__in=[t.pk for t in expected])), query
    assert _numbers(selectors.ticket_search(user=teacher, q="指示灯")) == [projector.number]


def test_the_full_text_index_merges_new_words_in_small_steps():
    # A create that merges the pending list holds the day's counter meanwhile (migration 0010).
    require_postgres()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'ticket_search_fts'")
        (options,) = cursor.fetchone()
    assert options == ["gin_pending_list_limit=256"]


def test_search_filters_by_number_state_type_priority_unit_and_period(new_ticket, staff, tree, tianjin_teacher):
    a = new_ticket(priority="P1")
    b = new_ticket(type="consultation", priority="P4", title="如何导出成绩单")
    services.ticket_accept(ticket=a, agent=a.assignee)
    agent = staff.top_agent
    assert _numbers(selectors.ticket_search(user=agent, number=a.number)) == [a.number]
    assert _numbers(selectors.ticket_search(user=agent, number=a.number[:10].lower())) == sorted([a.number, b.number])
    assert _numbers(selectors.ticket_search(user=agent, state="in_progress")) == [a.number]
    assert _numbers(selectors.ticket_search(user=agent, type="consultation")) == [b.number]
    assert _numbers(selectors.ticket_search(user=agent, priority="P1")) == [a.number]
    assert _numbers(selectors.ticket_search(user=agent, unit=tree.haidian)) == sorted([a.number, b.number])
    assert not selectors.ticket_search(user=agent, unit=tree.tianjin).exists()
    now = timezone.now()
    assert (
        selectors.ticket_search(
            user=agent, created_from=now - timedelta(hours=1), created_to=now + timedelta(1)
        ).count()
        == 2
    )
    assert not selectors.ticket_search(user=agent, created_to=now - timedelta(hours=1)).exists()


def test_wide_and_narrow_scopes_find_the_same_words(new_ticket, staff):
    """A ministry agent's search goes through the full-text index, a county agent's checks the
    county's tickets one by one; both must agree."""
    from tickets.selectors import _narrow_scope

    projector = new_ticket(title="投影仪无法开机", description="请长按电源键")
    new_ticket(title="校园网断网", description="win10 电脑连不上")
    assert _narrow_scope(staff.agent, view="handled") and not _narrow_scope(staff.top_agent, view="handled")
    for query in ("投影仪", "电源键", "键", "win", "WIN10 电脑", "投影 断网", "打印机"):
        narrow = _numbers(selectors.ticket_search(user=staff.agent, q=query))
        wide = _numbers(selectors.ticket_search(user=staff.top_agent, q=query))
        assert narrow == wide, query
    assert _numbers(selectors.ticket_search(user=staff.top_agent, q="电源键")) == [projector.number]
