"""The asker and the handler hear about their ticket over the websocket, after commit."""

import pytest
from django.utils import timezone

from tickets import services

pytestmark = pytest.mark.django_db


def test_the_asker_hears_the_approved_answer_and_the_agent_the_assignment(
    new_ticket, staff, teacher, inbox, django_capture_on_commit_callbacks
):
    asker_inbox, agent_inbox = inbox(teacher), inbox(staff.agent)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = new_ticket()
    assert [e["type"] for e in agent_inbox()] == ["ticket.assigned"]
    assert [e["type"] for e in asker_inbox()] == ["ticket.created"]
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_accept(ticket=ticket, agent=staff.agent)
        services.ticket_submit_answer(ticket=ticket, agent=staff.agent, solution="更换灯泡")
    asker_inbox()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_approve(ticket=ticket, reviewer=staff.reviewer)
    heard = asker_inbox()
    (event,) = [e for e in heard if e["type"].startswith("ticket.")]
    # The bell has it too.
    assert [e["payload"]["kind"] for e in heard if e["type"] == "notification.created"] == ["ticket.answered"]
    # The screen needs no second request: the approved answer arrives with the ticket's header fields.
    assert event["type"] == "ticket.answered"
    ticket.refresh_from_db()
    assert event["payload"] == {
        "id": ticket.pk,
        "number": ticket.number,
        "title": ticket.title,
        "state": "answered",
        "priority": ticket.priority,
        "updated_at": timezone.localtime(ticket.updated_at).isoformat(),
        "solution": "更换灯泡",
    }
    assert event["sent_at"].endswith("+08:00")


def test_nothing_is_pushed_when_the_write_rolls_back(
    new_ticket, teacher, staff, inbox, django_capture_on_commit_callbacks
):
    from django.core.exceptions import ValidationError

    asker_inbox = inbox(teacher)
    ticket = new_ticket()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        services.ticket_confirm(ticket=ticket, asker=teacher)  # not answered yet: refused
    assert asker_inbox() == []


def test_what_the_asker_hears_carries_nothing_of_a_draft_or_its_review(
    new_ticket, staff, teacher, inbox, django_capture_on_commit_callbacks
):
    import json

    asker_inbox, reviewer_inbox = inbox(teacher), inbox(staff.reviewer)
    ticket = new_ticket()
    agent = staff.agent if ticket.assignee_id == staff.agent.pk else staff.agent2
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_accept(ticket=ticket, agent=agent)
        services.ticket_submit_answer(ticket=ticket, agent=agent, solution="请重启交换机后再试")
        services.ticket_add_note(ticket=ticket, author=agent, body="内部：疑似交换机故障")
        services.ticket_reject(ticket=ticket, reviewer=staff.reviewer, reason="步骤不完整")
        services.ticket_submit_answer(ticket=ticket, agent=agent, solution="请检查路由器的电源")
        services.ticket_approve(ticket=ticket, reviewer=staff.reviewer, solution="请更换网线接头")
    everything = asker_inbox()
    heard = [event for event in everything if event["type"].startswith("ticket.")]
    # Every event the asker gets says which ticket changed and how it stands; only the published
    # answer (the reviewer's edit) travels, in ticket.answered. Nothing of a draft or its review:
    # no answer_submitted or answer_rejected reaches the asker.
    fields = {"id", "number", "title", "state", "priority", "updated_at"}
    assert heard and all(set(event["payload"]) - {"solution"} == fields for event in heard)
    assert not {"ticket.answer_submitted", "ticket.answer_rejected"} & {event["type"] for event in heard}
    (answered,) = [event for event in heard if event["type"] == "ticket.answered"]
    assert answered["payload"]["solution"] == "请更换网线接头"
    # Nor in the notification centre's entries.
    text = json.dumps(everything, ensure_ascii=False)
    for secret in ("交换机", "路由器", "步骤不完整"):
        assert secret not in text, secret
    # The note went to the staff only, and the reviewer heard of the answers to review.
    assert [event["type"] for event in heard].count("ticket.message") == 0
    assert reviewer_inbox()


def test_every_ticket_event_is_declared_in_tickets_events_and_its_builders_match_the_schemas():
    """The services name event types only through tickets.events, and each builder's payload is what
    the declared schema says (the tests also validate every payload actually sent)."""
    import re
    from pathlib import Path

    from helpdesk.core import event_types
    from tickets import events
    from tickets.models import FollowUp, Ticket

    declared = {event_type.name for event_type in events.EVENT_TYPES}
    constants = {value for name, value in vars(events).items() if name.startswith("TICKET_")}
    assert constants == declared
    services_dir = Path(events.__file__).parent / "services"
    for source in services_dir.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert not re.search(r"[\"']ticket\.[a-z_]+[\"']", text), f"{source.name} names an event type as a literal"
        for used in re.findall(r"events\.(TICKET_[A-Z_]+)", text):
            assert getattr(events, used) in declared
    ticket = Ticket(
        pk=7, number="TS20261205007", title="投影仪", state="in_progress", priority="P3", updated_at=timezone.now()
    )
    follow_up_types = {events.TICKET_FOLLOW_UP, events.TICKET_FOLLOW_UP_DONE}
    for name in declared - follow_up_types - {events.TICKET_MERGED, events.TICKET_ANSWERED}:
        event_types.validate(name, events.ticket_payload(ticket))
    ticket.solution = "重启"
    event_types.validate(events.TICKET_ANSWERED, events.answered_payload(ticket))
    for name in follow_up_types:
        event_types.validate(name, events.follow_up_payload(ticket, FollowUp(pk=3, due_at=timezone.now())))
    target = Ticket(pk=8, number="TS20261205008", state="in_progress")
    event_types.validate(events.TICKET_MERGED, events.merged_payload(ticket, target))


def test_a_poor_rating_and_its_follow_up_reach_the_supervisor_and_the_answering_agent(
    new_ticket, staff, teacher, inbox, django_capture_on_commit_callbacks
):
    from tickets.models import FollowUp

    ticket = new_ticket()
    agent = staff.agent if ticket.assignee_id == staff.agent.pk else staff.agent2
    services.ticket_accept(ticket=ticket, agent=agent)
    services.ticket_submit_answer(ticket=ticket, agent=agent, solution="更换灯泡")
    services.ticket_approve(ticket=ticket, reviewer=staff.reviewer)
    services.ticket_confirm(ticket=ticket, asker=teacher)
    supervisor_inbox, agent_inbox = inbox(staff.supervisor), inbox(agent)
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_rate(ticket=ticket, asker=teacher, rating="dissatisfied", feedback="等太久")
    for heard in (supervisor_inbox(), agent_inbox()):
        (opened,) = [e for e in heard if e["type"] == "ticket.follow_up"]
        assert opened["payload"]["rating"] == "dissatisfied" and opened["payload"]["number"] == ticket.number
        assert [e["payload"]["kind"] for e in heard if e["type"] == "notification.created"] == ["ticket.follow_up"]
    follow_up = FollowUp.objects.get(ticket=ticket)
    with django_capture_on_commit_callbacks(execute=True):
        services.follow_up_complete(follow_up=follow_up, user=staff.supervisor, outcome="已电话回访")
    assert [e["type"] for e in agent_inbox()] == ["ticket.follow_up_done"]
    # The supervisor who completed it hears it too (its other open lists follow).
    assert [e["type"] for e in supervisor_inbox()] == ["ticket.follow_up_done"]
