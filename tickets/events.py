"""The realtime events tickets sends on ``/ws/``: their types, payload schemas and payload builders.

Every ticket event tells the recipient that a ticket changed and which; the client then reads the
ticket over REST (the event carries no content the recipient might not be allowed to read). The
types are registered with ``helpdesk.core.event_types`` at import, so ``helpdesk.core.events``
refuses a type not declared here and (in tests) checks each payload against its schema. Services
build payloads only through the builders below.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.utils import timezone

from helpdesk.core.event_types import INTEGER, STRING, EventType, obj, register

from .models import FollowUp, Priority, Ticket, TicketState

TICKET_CREATED = "ticket.created"
TICKET_ASSIGNED = "ticket.assigned"
TICKET_UPDATED = "ticket.updated"
TICKET_MESSAGE = "ticket.message"
TICKET_FOLLOW_UP = "ticket.follow_up"
TICKET_SLA_WARNING = "ticket.sla_warning"
TICKET_SLA_BREACHED = "ticket.sla_breached"
TICKET_ESCALATED = "ticket.escalated"
TICKET_WITHDRAWN = "ticket.withdrawn"
TICKET_CLOSED_INVALID = "ticket.closed_invalid"
TICKET_TRANSFERRED = "ticket.transferred"
TICKET_FORWARDED = "ticket.forwarded"
TICKET_MERGED = "ticket.merged"
TICKET_ACCEPTED = "ticket.accepted"
TICKET_INFO_REQUESTED = "ticket.info_requested"
TICKET_INFO_PROVIDED = "ticket.info_provided"
TICKET_ANSWER_SUBMITTED = "ticket.answer_submitted"
TICKET_ANSWER_REJECTED = "ticket.answer_rejected"
TICKET_ANSWERED = "ticket.answered"
TICKET_CONFIRMED = "ticket.confirmed"
TICKET_REOPENED = "ticket.reopened"
TICKET_RATED = "ticket.rated"
TICKET_CLOSED = "ticket.closed"
TICKET_PRIORITY_CHANGED = "ticket.priority_changed"
TICKET_FOLLOW_UP_DONE = "ticket.follow_up_done"

# What a list row or a ticket screen's header needs without a second request. Nothing here is
# beyond what every recipient may read (they are the ticket's asker, handlers, reviewers and the
# pools' supervisors); the answer travels only in ticket.answered, once it is published.
_TICKET_FIELDS = {
    "id": INTEGER,
    "number": STRING,
    "title": STRING,
    "state": {"enum": list(TicketState.values)},
    "priority": {"enum": list(Priority.values)},
    "updated_at": {"type": "string", "format": "date-time"},
}
_TICKET_PAYLOAD = obj(_TICKET_FIELDS)
_EXAMPLE = {
    "id": 42,
    "number": "TS20261205001",
    "title": "多媒体教室投影仪无信号",
    "state": TicketState.NEW.value,
    "priority": Priority.P3.value,
    "updated_at": "2026-12-05T09:30:00+08:00",
}

# The event each action of the transition table sends (tickets.services.core.ticket_transition).
# The asker never hears of an answer under review or its rejection (a review never reaches the asker):
# for those the asker gets ticket.updated, staff the specific type.
ACTION_EVENTS: dict[str, str] = {
    "accept": TICKET_ACCEPTED,
    "request_info": TICKET_INFO_REQUESTED,
    "provide_info": TICKET_INFO_PROVIDED,
    "submit_answer": TICKET_ANSWER_SUBMITTED,
    "answer_direct": TICKET_ANSWERED,
    "approve": TICKET_ANSWERED,
    "reject": TICKET_ANSWER_REJECTED,
    "confirm": TICKET_CONFIRMED,
    "reopen": TICKET_REOPENED,
    "rate": TICKET_RATED,
    "close": TICKET_CLOSED,
}
STAFF_ONLY_EVENTS = frozenset({TICKET_ANSWER_SUBMITTED, TICKET_ANSWER_REJECTED})


class TicketRef(Protocol):
    """A ticket or the sweep's lighter DueTicket: what a payload reads."""

    pk: Any
    number: str
    title: str
    state: str
    priority: str
    updated_at: Any


def ticket_payload(ticket: Ticket | TicketRef) -> dict[str, Any]:
    """Which ticket changed and how it stands now: the payload of every ticket event."""
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "title": ticket.title,
        "state": ticket.state,
        "priority": ticket.priority,
        "updated_at": timezone.localtime(ticket.updated_at).isoformat(),
    }


def answered_payload(ticket: Ticket) -> dict[str, Any]:
    """The published answer itself: the asker's screen shows it without reading the ticket again."""
    return ticket_payload(ticket) | {"solution": ticket.solution}


def follow_up_payload(ticket: Ticket, follow_up: FollowUp) -> dict[str, Any]:
    """A poor rating opened a follow-up of this ticket for the answering unit's supervisors."""
    return ticket_payload(ticket) | {
        "follow_up": follow_up.pk,
        "rating": ticket.rating or "",
        "due_at": timezone.localtime(follow_up.due_at).isoformat(),
    }


def merged_payload(duplicate: Ticket, target: Ticket) -> dict[str, Any]:
    """A duplicate was merged: which one, and the ticket that carries on (by id and number only; a
    recipient who may not open the target learns no more than its number)."""
    return ticket_payload(duplicate) | {"merged_into": {"id": target.pk, "number": target.number}}


def _ticket_event(name: str, summary: str) -> EventType:
    return EventType(name, summary, _TICKET_PAYLOAD, examples=(_EXAMPLE,))


def _follow_up_event(name: str, summary: str) -> EventType:
    """A follow-up's event: the ticket's fields and the follow-up's (follow_up_payload)."""
    return EventType(
        name,
        summary,
        obj(
            _TICKET_FIELDS
            | {"follow_up": INTEGER, "rating": STRING, "due_at": {"type": "string", "format": "date-time"}}
        ),
        examples=(
            _EXAMPLE
            | {"state": "closed", "follow_up": 7, "rating": "dissatisfied", "due_at": "2026-12-06T09:30:00+08:00"},
        ),
    )


EVENT_TYPES = register(
    _ticket_event(TICKET_CREATED, "To the asker: the question was filed (and numbered)."),
    _ticket_event(
        TICKET_ASSIGNED, "To the new handler (and the asker or the previous handler): the ticket has a handler."
    ),
    _ticket_event(
        TICKET_UPDATED,
        "To the asker, the handler and the actor: the ticket's state, priority or answer changed.",
    ),
    _ticket_event(TICKET_MESSAGE, "To the ticket's people: a reply (or, to staff, an internal note) was added."),
    _follow_up_event(
        TICKET_FOLLOW_UP,
        "To the answering unit's supervisors and the answering agent: a poor rating opened a follow-up, "
        "due in 24 hours.",
    ),
    _ticket_event(
        TICKET_SLA_WARNING,
        "To the handler and the pool's supervisors: a deadline is near or receipt was not confirmed.",
    ),
    _ticket_event(TICKET_SLA_BREACHED, "To the handler and the pool's supervisors: the top pool let a deadline pass."),
    _ticket_event(
        TICKET_ESCALATED,
        "To the asker, the new handler, the previous handler and the new pool's supervisors: the ticket moved up.",
    ),
    _ticket_event(
        TICKET_WITHDRAWN,
        "To the asker and the handler: the asker withdrew the question.",
    ),
    _ticket_event(TICKET_CLOSED_INVALID, "To the asker, the handler and the actor: staff closed it as invalid."),
    _ticket_event(
        TICKET_TRANSFERRED,
        "To the new handler, the previous handler, the asker and the actor: 转派 to another agent of the pool.",
    ),
    _ticket_event(
        TICKET_FORWARDED,
        "To the asker, the new handler, the previous handler and the new pool's supervisors: 上报 by hand.",
    ),
    EventType(
        TICKET_MERGED,
        "To both tickets' askers and handlers and the actor: a duplicate was closed into another ticket.",
        obj(_TICKET_FIELDS | {"merged_into": obj({"id": INTEGER, "number": STRING})}),
        examples=(
            _EXAMPLE
            | {
                "id": 43,
                "number": "TS20261205002",
                "state": TicketState.CLOSED.value,
                "merged_into": {"id": 42, "number": "TS20261205001"},
            },
        ),
    ),
    _ticket_event(TICKET_ACCEPTED, "To the asker, the handler and the actor: the handler confirmed receipt."),
    _ticket_event(
        TICKET_INFO_REQUESTED,
        "To the asker and the handler: the handler asks for more information (the clock pauses).",
    ),
    _ticket_event(TICKET_INFO_PROVIDED, "To the handler and the asker: the asker answered; the clock runs again."),
    _ticket_event(
        TICKET_ANSWER_SUBMITTED,
        "To the handler and the answering unit's reviewers (the asker gets ticket.updated): an answer awaits review.",
    ),
    _ticket_event(
        TICKET_ANSWER_REJECTED,
        "To the handler and the reviewer (the asker gets ticket.updated): the reviewer sent the answer back.",
    ),
    EventType(
        TICKET_ANSWERED,
        "To the asker, the handler and the actor: the answer was approved (or given where review is off); "
        "carries the answer.",
        obj(_TICKET_FIELDS | {"solution": STRING}),
        examples=(_EXAMPLE | {"state": "answered", "solution": "请检查投影仪信号源是否切换到 HDMI。"},),
    ),
    _follow_up_event(
        TICKET_FOLLOW_UP_DONE,
        "To the unit's supervisors and the answering agent: a supervisor recorded the follow-up's outcome.",
    ),
    _ticket_event(TICKET_CONFIRMED, "To the asker, the handler and the actor: the asker confirmed it solved."),
    _ticket_event(TICKET_REOPENED, "To the handler, the asker and the actor: the answer did not solve it."),
    _ticket_event(TICKET_RATED, "To the asker, the handler and the actor: the asker rated the service."),
    _ticket_event(TICKET_CLOSED, "To the asker, the handler and the actor: the ticket was closed."),
    _ticket_event(TICKET_PRIORITY_CHANGED, "To the asker, the handler and the actor: an agent changed the priority."),
)
