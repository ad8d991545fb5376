"""The realtime events tickets sends on ``/ws/``: their types, payload schemas and payload builders.

Every ticket event tells the recipient that a ticket changed and which; the client then reads the
ticket over REST (the event carries no content the recipient might not be allowed to read). The
types are registered with ``helpdesk.core.event_types`` at import, so ``helpdesk.core.events``
refuses a type not declared here and (in tests) checks each payload against its schema. Services
build payloads only through the builders below.
"""

from __future__ import annotations

from typing import Any, Protocol

from helpdesk.core.event_types import INTEGER, STRING, EventType, obj, register

from .models import FollowUp, Ticket, TicketState

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

_TICKET_PAYLOAD = obj({"id": INTEGER, "number": STRING, "state": {"enum": list(TicketState.values)}})
_EXAMPLE = {"id": 42, "number": "TS20261205001", "state": TicketState.NEW.value}


class TicketRef(Protocol):
    """A ticket or the sweep's lighter DueTicket: what a payload reads."""

    pk: Any
    number: str
    state: str


def ticket_payload(ticket: Ticket | TicketRef) -> dict[str, Any]:
    """Which ticket changed and its state now: the payload of every ticket event but the follow-up."""
    return {"id": ticket.pk, "number": ticket.number, "state": ticket.state}


def follow_up_payload(ticket: Ticket, follow_up: FollowUp) -> dict[str, Any]:
    """A poor rating opened a follow-up of this ticket for the answering unit's supervisors."""
    return {"id": ticket.pk, "number": ticket.number, "follow_up": follow_up.pk}


def merged_payload(duplicate: Ticket, target: Ticket) -> dict[str, Any]:
    """A duplicate was merged: which one, and the ticket that carries on (by id and number only; a
    recipient who may not open the target learns no more than its number)."""
    return ticket_payload(duplicate) | {"merged_into": {"id": target.pk, "number": target.number}}


def _ticket_event(name: str, summary: str) -> EventType:
    return EventType(name, summary, _TICKET_PAYLOAD, examples=(_EXAMPLE,))


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
    EventType(
        TICKET_FOLLOW_UP,
        "To the answering unit's supervisors: a poor rating opened a follow-up, due in 24 hours.",
        obj({"id": INTEGER, "number": STRING, "follow_up": INTEGER}),
        examples=({"id": 42, "number": "TS20261205001", "follow_up": 7},),
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
        obj(
            {
                "id": INTEGER,
                "number": STRING,
                "state": {"enum": list(TicketState.values)},
                "merged_into": obj({"id": INTEGER, "number": STRING}),
            }
        ),
        examples=(
            {
                "id": 43,
                "number": "TS20261205002",
                "state": TicketState.CLOSED.value,
                "merged_into": {"id": 42, "number": "TS20261205001"},
            },
        ),
    ),
)
