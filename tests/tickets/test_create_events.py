"""A create's realtime events are stored with the ticket (on PostgreSQL in the create's own statement)
and pushed after commit with the ids they were stored under."""

import pytest
from django.utils import timezone

from helpdesk.core import eventlog
from helpdesk.core.models import StoredEvent
from tickets import events

pytestmark = pytest.mark.django_db


def _stored(user) -> list[tuple[int, str, dict]]:
    return list(StoredEvent.objects.filter(user_id=user.pk).order_by("seq").values_list("seq", "type", "payload"))


def test_the_asker_and_the_assigned_agent_get_the_create_stored_and_pushed_alike(
    new_ticket,
    staff,
    teacher,
    inbox,
    django_capture_on_commit_callbacks,
):
    asker_inbox, agent_inbox = inbox(teacher), inbox(staff.agent)
    # The agent has heard of something before: the create's event continues its numbering.
    eventlog.store([(staff.agent.pk, events.TICKET_UPDATED, {"earlier": True})])
    with django_capture_on_commit_callbacks(execute=True):
        ticket = new_ticket()
    ticket.refresh_from_db()
    assert ticket.assignee_id == staff.agent.pk
    payload = {
        "id": ticket.pk,
        "number": ticket.number,
        "title": ticket.title,
        "state": "new",
        "priority": ticket.priority,
        "updated_at": timezone.localtime(ticket.updated_at).isoformat(),
    }
    assert _stored(teacher) == [(1, events.TICKET_CREATED, payload)]
    assert _stored(staff.agent)[1:] == [(2, events.TICKET_ASSIGNED, payload)]
    # What the sockets receive is what a resuming socket would be replayed: same id, same payload.
    (created,) = asker_inbox()
    (assigned,) = agent_inbox()
    assert (created["id"], created["type"], created["payload"]) == (1, events.TICKET_CREATED, payload)
    assert (assigned["id"], assigned["type"], assigned["payload"]) == (2, events.TICKET_ASSIGNED, payload)
    assert eventlog.last_id(teacher.pk) == 1 and eventlog.last_id(staff.agent.pk) == 2


def test_an_agent_who_files_a_question_their_own_pool_assigns_to_them_gets_both_events_in_order(
    new_ticket,
    staff,
    inbox,
    django_capture_on_commit_callbacks,
):
    # 和平区 has one agent on duty: the question its own agent files is theirs to handle.
    agent = staff.tianjin_agent
    heard = inbox(agent)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = new_ticket(asker=agent)
    assert ticket.assignee_id == agent.pk
    assert [(seq, kind) for seq, kind, _payload in _stored(agent)] == [
        (1, events.TICKET_CREATED),
        (2, events.TICKET_ASSIGNED),
    ]
    assert [(frame["id"], frame["type"]) for frame in heard()] == [
        (1, events.TICKET_CREATED),
        (2, events.TICKET_ASSIGNED),
    ]


def test_a_question_no_pool_takes_is_stored_for_the_asker_only(new_ticket, teacher, django_capture_on_commit_callbacks):
    # No agent anywhere in the tree: the ticket waits unrouted and only the asker hears of it.
    with django_capture_on_commit_callbacks(execute=True):
        ticket = new_ticket()
    assert ticket.assignee_id is None
    assert [(seq, kind) for seq, kind, _payload in _stored(teacher)] == [(1, events.TICKET_CREATED)]
    assert StoredEvent.objects.count() == 1


def test_a_create_that_fails_stores_no_event(new_ticket, teacher):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        new_ticket(title="")
    assert StoredEvent.objects.count() == 0
