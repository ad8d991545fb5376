"""The bulk ticket generator (manage.py generate_tickets) on the small test tree: what it makes must be
tickets the platform itself would have made, so the benchmarks built on it measure the real thing."""

import re
from collections import defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Role, RoleAssignment, User
from tests.factories import UserFactory
from tickets import selectors, services
from tickets.models import OPEN_STATES, Ticket, TicketDayCounter, TicketState

pytestmark = pytest.mark.django_db

NUMBER = re.compile(r"^TS(\d{8})(\d{3,})$")


@pytest.fixture
def askers(tree):
    teachers = [UserFactory(unit=tree.school_a), UserFactory(unit=tree.school_b), UserFactory(unit=tree.school_tj)]
    # Students do not file tickets in the generated data.
    UserFactory(unit=tree.school_a, user_type="student")
    return teachers


def generate(**options) -> str:
    out = StringIO()
    defaults = {"seed": 7, "batch_size": 97, "no_progress": True, "password": "Generated-Staff-1", "stdout": out}
    call_command("generate_tickets", **(defaults | options))
    return out.getvalue()


def test_staff_serve_every_county_and_tickets_are_routed_to_them(tree, askers):
    output = generate(tickets=400, days=60, open_share=0.2)
    assert "Created 400 tickets" in output

    agents = defaultdict(set)
    for unit_id, user_id in RoleAssignment.objects.filter(role=Role.SUPPORT_AGENT).values_list("unit_id", "user_id"):
        agents[unit_id].add(user_id)
    # Two agents (all four handling groups), a reviewer and a supervisor in each county.
    assert {unit: len(ids) for unit, ids in agents.items()} == {tree.haidian.pk: 2, tree.heping.pk: 2}
    for county in (tree.haidian, tree.heping):
        roles = set(RoleAssignment.objects.filter(unit=county).values_list("role", flat=True))
        assert roles == {Role.SUPPORT_AGENT, Role.ANSWER_REVIEWER, Role.UNIT_ADMIN}
    assert User.objects.get(username="kf11010801").check_password("Generated-Staff-1")

    tickets = list(Ticket.objects.select_related("unit", "asker"))
    assert len(tickets) == 400
    county_of = {
        tree.school_a.pk: tree.haidian.pk,
        tree.school_b.pk: tree.haidian.pk,
        tree.school_tj.pk: tree.heping.pk,
    }
    for ticket in tickets:
        assert ticket.asker in askers
        assert ticket.unit_id == ticket.asker.unit_id
        assert ticket.unit_path == ticket.unit.path
        assert ticket.pool_unit_id == county_of[ticket.unit_id]
        assert ticket.assignee_id in agents[ticket.pool_unit_id]
        assert ticket.created_at <= timezone.now()
        assert ticket.contact_info.isdigit() and len(ticket.contact_info) == 11
        assert ticket.search.text


def test_numbers_follow_the_creation_day_without_gaps_and_new_tickets_continue(tree, askers):
    generate(tickets=300, days=3, open_share=0.1)

    serials = defaultdict(list)
    for number, created_at in Ticket.objects.values_list("number", "created_at"):
        match = NUMBER.match(number)
        assert match, number
        day = timezone.localdate(created_at)
        assert match.group(1) == f"{day:%Y%m%d}"
        serials[day].append(int(match.group(2)))
    for day, numbers in serials.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))
        assert TicketDayCounter.objects.get(day=day).last_serial == len(numbers)

    # A question filed now takes today's next number and is routed to one of the generated agents.
    today = timezone.localdate()
    filed = services.ticket_create(
        asker=askers[0], title="投影仪无法开机", description="电源灯不亮", type="hardware", contact_info="13800000000"
    )
    assert filed.number == f"TS{today:%Y%m%d}{len(serials.get(today, [])) + 1:03d}"
    assert filed.pool_unit_id == tree.haidian.pk
    assert filed.assignee.username.startswith("kf110108")

    # A second run adds to the same days without reusing a number.
    generate(tickets=200, days=3, seed=8)
    assert Ticket.objects.count() == 501
    assert Ticket.objects.values("number").distinct().count() == 501


def test_open_and_closed_tickets_carry_their_lifecycle(tree, askers):
    generate(tickets=500, days=90, open_share=0.3)
    now = timezone.now()
    states = set(Ticket.objects.values_list("state", flat=True))
    assert TicketState.CLOSED in states and states & OPEN_STATES

    for ticket in Ticket.objects.all():
        if ticket.state == TicketState.CLOSED:
            assert ticket.solution and ticket.created_at <= ticket.resolved_at <= ticket.closed_at <= now
            assert ticket.next_due_at is None and ticket.sla_check_at is None
        elif ticket.state in OPEN_STATES:
            assert not ticket.closed_at and not ticket.resolved_at
            assert ticket.response_due_at and ticket.resolution_due_at
            # Nothing is left for the sweep: it was generated as the sweep leaves it.
            assert ticket.sla_check_at is None or ticket.sla_check_at > now
            if ticket.state == TicketState.WAITING_ASKER:
                assert ticket.paused_at and ticket.next_due_at is None
            elif ticket.state == TicketState.NEW:
                assert ticket.accepted_at is None and ticket.ack_due_at
            else:
                assert ticket.accepted_at

    # The agents' lists and the word search find them.
    agent = User.objects.get(username="kf11010801")
    queue = selectors.ticket_list(user=agent, view="assigned")
    assert queue.exists() and all(t.assignee_id == agent.pk and t.state in OPEN_STATES for t in queue)
    found = list(selectors.ticket_search(user=agent, q="投影仪"))
    assert found and all("投影仪" in t.title + t.description for t in found)
    reviewer = User.objects.get(username="sh110108")
    assert all(t.state == TicketState.PENDING_REVIEW for t in selectors.ticket_list(user=reviewer, view="review"))


def test_due_share_gives_the_sweep_work_it_then_finishes(tree, askers):
    output = generate(tickets=400, days=20, open_share=0.5, due_share=0.2)
    assert "Due for the SLA sweep" in output
    now = timezone.now()
    due = Ticket.objects.filter(sla_check_at__lte=now)
    assert due.count() > 0

    result = services.sla_sweep(now=now)
    # The test tree has no pool above the counties: breaches stop at the top and are flagged.
    assert result["checked"] > 0
    assert result.get("warned", 0) + result.get("reassigned", 0) + result.get("at_top", 0) > 0
    assert not Ticket.objects.filter(sla_check_at__lte=now).exists()
