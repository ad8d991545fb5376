"""Writes to tickets. This first part holds numbering, creation and the one transition table;
routing, SLA deadlines, review and rating build on ``ticket_transition``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, RoleAssignment, User
from helpdesk.events import send_event

from .models import Priority, Ticket, TicketDayCounter, TicketEvent, TicketState, TicketType

S = TicketState

# action → (states it may start from, state it leads to). Every state change goes through here.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "accept": (frozenset({S.NEW}), S.IN_PROGRESS),
    "request_info": (frozenset({S.IN_PROGRESS}), S.WAITING_ASKER),
    "provide_info": (frozenset({S.WAITING_ASKER}), S.IN_PROGRESS),
    "submit_answer": (frozenset({S.IN_PROGRESS}), S.PENDING_REVIEW),
    "approve": (frozenset({S.PENDING_REVIEW}), S.ANSWERED),
    "reject": (frozenset({S.PENDING_REVIEW}), S.IN_PROGRESS),
    "confirm": (frozenset({S.ANSWERED}), S.RESOLVED),
    "reopen": (frozenset({S.ANSWERED, S.RESOLVED}), S.IN_PROGRESS),
    "close": (frozenset({S.RESOLVED}), S.CLOSED),
}
EVENT_FOR_ACTION = {
    "accept": TicketEvent.Kind.ACCEPTED,
    "request_info": TicketEvent.Kind.INFO_REQUESTED,
    "provide_info": TicketEvent.Kind.INFO_PROVIDED,
    "submit_answer": TicketEvent.Kind.ANSWERED,
    "approve": TicketEvent.Kind.REVIEWED,
    "reject": TicketEvent.Kind.REJECTED,
    "confirm": TicketEvent.Kind.CONFIRMED,
    "reopen": TicketEvent.Kind.REOPENED,
    "close": TicketEvent.Kind.CLOSED,
}


def ticket_number_for(day: date, serial: int) -> str:
    """``TS`` + date + daily serial of at least three digits: ``TS20231027001``."""
    return f"TS{day:%Y%m%d}{serial:03d}"


def _next_serial(day: date) -> int:
    """Take the day's next serial under a row lock. Must run inside the creating transaction, so a
    create that rolls back gives its serial back and the day's numbers stay gap-free."""
    TicketDayCounter.objects.bulk_create([TicketDayCounter(day=day)], ignore_conflicts=True)
    counter = TicketDayCounter.objects.select_for_update().get(day=day)
    counter.last_serial += 1
    counter.save(update_fields=["last_serial"])
    return counter.last_serial


def _record(ticket: Ticket, *, actor: User | None, kind: str, from_state: str = "", to_state: str = "",
            comment: str = "", data: dict[str, Any] | None = None) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket, actor=actor, kind=kind, from_state=from_state, to_state=to_state,
        comment=comment, data=data or {},
    )


def ticket_create(
    *,
    asker: User,
    title: str,
    description: str,
    type: str,
    priority: str = Priority.P3,
    contact_name: str = "",
    contact_info: str = "",
) -> Ticket:
    """问题咨询: file a question for the asker's unit."""
    if asker.unit_id is None:
        raise ValidationError({"unit": [_("Your account belongs to no unit; ask your administrator.")]})
    ticket = Ticket(
        asker=asker,
        unit_id=asker.unit_id,
        title=(title or "").strip(),
        description=(description or "").strip(),
        type=type,
        priority=priority,
        contact_name=(contact_name or asker.name or asker.username).strip(),
        contact_info=(contact_info or asker.phone or asker.email).strip(),
        number="pending",
    )
    ticket.full_clean(exclude=["number", "pool_unit", "assignee"])
    if type not in TicketType.values:
        raise ValidationError({"type": [_("Choose a valid type.")]})
    with transaction.atomic():
        today = timezone.localdate()
        ticket.number = ticket_number_for(today, _next_serial(today))
        ticket.save()
        _record(ticket, actor=asker, kind=TicketEvent.Kind.CREATED, to_state=ticket.state,
                data={"priority": ticket.priority, "type": ticket.type})
        send_event(user_ids=[asker.pk], event_type="ticket.created", payload={"id": ticket.pk, "number": ticket.number})
    return ticket


def ticket_transition(
    *, ticket: Ticket, actor: User, action: str, comment: str = "", changes: dict[str, Any] | None = None
) -> Ticket:
    """Apply one action of the transition table under a row lock; refuse what the table does not allow.

    Two agents accepting at once: the second waits for the first's lock, then finds the ticket no
    longer new and is refused, so there is exactly one winner.
    """
    if action not in TRANSITIONS:
        raise ValidationError({"action": [_("Unknown action.")]})
    allowed_from, to_state = TRANSITIONS[action]
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.state not in allowed_from:
            raise ValidationError(
                {"state": [_("This action is not possible while the ticket is “%(state)s”.")
                           % {"state": locked.get_state_display()}]}
            )
        from_state = locked.state
        locked.state = to_state
        for name, value in (changes or {}).items():
            setattr(locked, name, value)
        if to_state == S.CLOSED:
            locked.closed_at = timezone.now()
        locked.save()
        _record(locked, actor=actor, kind=EVENT_FOR_ACTION[action], from_state=from_state, to_state=to_state,
                comment=comment, data={k: str(v.pk if hasattr(v, "pk") else v) for k, v in (changes or {}).items()})
        recipients = {locked.asker_id, actor.pk} | ({locked.assignee_id} if locked.assignee_id else set())
        send_event(
            user_ids=recipients,
            event_type="ticket.updated",
            payload={"id": locked.pk, "number": locked.number, "state": locked.state},
        )
    return locked


def _is_agent_for(agent: User, ticket: Ticket) -> bool:
    """An on-duty support agent of the ticket's unit or of a unit above it."""
    unit_path = ticket.unit.path
    paths = RoleAssignment.objects.filter(user=agent, role=Role.SUPPORT_AGENT).values_list("unit__path", flat=True)
    return any(unit_path.startswith(path) for path in paths)


def ticket_accept(*, ticket: Ticket, agent: User) -> Ticket:
    """The handling agent confirms receipt (seed 004: within 1 hour) and becomes the handler."""
    if not _is_agent_for(agent, ticket):
        raise ValidationError({"agent": [_("Only a support agent of this unit or a unit above it can accept.")]})
    return ticket_transition(ticket=ticket, actor=agent, action="accept", changes={"assignee": agent})
