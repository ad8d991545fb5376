"""SLA clocks on tickets: deadlines per priority, working hours, pauses, priority changes."""

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import HandlingGroup, Role
from tests.factories import UserFactory, grant
from tickets import services
from tickets.models import Ticket
from tickets.working_time import LOCAL_TZ

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(tree):
    user = UserFactory(username="hd_agent", unit=tree.haidian, user_type="staff")
    grant(user, tree.haidian, Role.SUPPORT_AGENT).handling_groups.set(HandlingGroup.objects.all())
    return user


def _ticket(asker, priority="P1"):
    return services.ticket_create(
        asker=asker,
        title="无法登录",
        description="提示密码错误",
        type="software",
        priority=priority,
        contact_info="13800000000",
    )


def _created_at(ticket: Ticket, moment: datetime) -> Ticket:
    Ticket.objects.filter(pk=ticket.pk).update(created_at=moment)
    ticket.refresh_from_db()
    services.ticket_compute_deadlines(ticket=ticket)
    return ticket


def test_p1_targets_are_clock_hours(teacher):
    ticket = _ticket(teacher, "P1")
    assert ticket.response_due_at == ticket.created_at + timedelta(hours=2)
    assert ticket.resolution_due_at == ticket.created_at + timedelta(hours=8)
    p4 = _ticket(teacher, "P4")
    assert p4.response_due_at == p4.created_at + timedelta(hours=24)


def test_p3_counts_working_hours_across_a_weekend_with_an_adjusted_working_sunday(teacher):
    # Friday 18 Sept 2026, 16:00: 2 h left that day; Saturday is off, Sunday 20 Sept is an
    # adjusted working day (调休) in the official calendar, so the remaining 6 h end there at 16:00.
    ticket = _created_at(_ticket(teacher, "P3"), datetime(2026, 9, 18, 16, 0, tzinfo=LOCAL_TZ))
    assert ticket.response_due_at == datetime(2026, 9, 20, 16, 0, tzinfo=LOCAL_TZ)


def test_p3_skips_the_national_day_holiday(teacher):
    ticket = _created_at(_ticket(teacher, "P3"), datetime(2026, 9, 30, 16, 0, tzinfo=LOCAL_TZ))
    # 1–7 October are off; Thursday 8 October is a working day.
    assert ticket.response_due_at == datetime(2026, 10, 8, 16, 0, tzinfo=LOCAL_TZ)


def test_priority_change_needs_a_reason_and_moves_the_deadlines(teacher, agent):
    ticket = _ticket(teacher, "P4")
    with pytest.raises(ValidationError) as exc:
        services.ticket_change_priority(ticket=ticket, agent=agent, priority="P1", reason=" ")
    assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.ticket_change_priority(ticket=ticket, agent=teacher, priority="P1", reason="全校断网")
    ticket = services.ticket_change_priority(ticket=ticket, agent=agent, priority="P1", reason="全校断网")
    assert ticket.priority == "P1"
    assert ticket.response_due_at == ticket.created_at + timedelta(hours=2)
    event = ticket.events.get(kind="priority_changed")
    assert (event.data, event.comment, event.actor) == ({"from": "P4", "to": "P1"}, "全校断网", agent)


def test_waiting_on_the_asker_pauses_the_clock(teacher, agent):
    ticket = services.ticket_accept(ticket=_ticket(teacher, "P2"), agent=agent)
    original_resolution = ticket.resolution_due_at
    ticket = services.ticket_transition(ticket=ticket, actor=agent, action="request_info")
    assert ticket.paused_at is not None and ticket.first_response_at is not None
    # The asker answers 90 minutes later.
    Ticket.objects.filter(pk=ticket.pk).update(paused_at=timezone.now() - timedelta(minutes=90))
    sla = {row["target"]: row for row in services.ticket_sla(ticket=Ticket.objects.get(pk=ticket.pk))}
    assert sla["resolution"]["paused"] and sla["resolution"]["paused_minutes"] == 90
    ticket = services.ticket_transition(ticket=ticket, actor=teacher, action="provide_info")
    assert ticket.paused_at is None
    assert ticket.paused_wall_minutes == 90
    assert ticket.resolution_due_at == original_resolution + timedelta(minutes=90)


def test_ack_deadline_set_at_assignment_and_met_at_accept(teacher, agent):
    ticket = _ticket(teacher)
    assert ticket.assignee == agent
    assert timedelta(minutes=59) < ticket.ack_due_at - ticket.created_at <= timedelta(minutes=61)
    ticket = services.ticket_accept(ticket=ticket, agent=agent)
    assert ticket.accepted_at is not None and ticket.sla_check_at != ticket.ack_due_at
    (acknowledge,) = [row for row in services.ticket_sla(ticket=ticket) if row["target"] == "acknowledge"]
    assert acknowledge["met"] and acknowledge["met_at"] == ticket.accepted_at


def test_sla_view_reports_time_left_and_overdue(teacher):
    ticket = _ticket(teacher, "P1")
    rows = {row["target"]: row for row in services.ticket_sla(ticket=ticket, now=ticket.created_at)}
    assert rows["first_response"]["seconds_left"] == 2 * 3600
    assert not rows["first_response"]["overdue"]
    later = ticket.created_at + timedelta(hours=3)
    rows = {row["target"]: row for row in services.ticket_sla(ticket=ticket, now=later)}
    assert rows["first_response"]["overdue"] and rows["first_response"]["seconds_left"] == -3600
    assert not rows["resolution"]["overdue"]


def test_a_missing_policy_row_falls_back_to_the_seed_targets(teacher):
    from tickets.models import SLAPolicy

    SLAPolicy.objects.filter(priority="P2").delete()
    ticket = _ticket(teacher, "P2")
    assert ticket.response_due_at == ticket.created_at + timedelta(hours=4)
