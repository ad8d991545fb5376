"""Bulk work on the workbench: an agent confirms receipt (确认接收) of several of a pool's tickets at
once, or transfers (转派) several. Each ticket goes through the one single-ticket service (its own
transaction, lock, permission check, timeline line, SLA refresh and event), so a bulk action is
exactly the single actions in a row: a ticket another agent took meanwhile is refused on its own and
the others still go through."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError

from accounts.models import User

from ..models import Ticket
from .actions import ticket_transfer
from .core import ticket_accept

# A page of the workbench holds 30 rows; a request naming more is not from the page.
BULK_MAX = 50


def tickets_accept_many(*, agent: User, tickets: Iterable[Ticket]) -> tuple[list[Ticket], list[tuple[Ticket, str]]]:
    """Accept each ticket for ``agent``: the accepted tickets, and the refused ones with the reason."""
    accepted: list[Ticket] = []
    refused: list[tuple[Ticket, str]] = []
    for ticket in tickets:
        try:
            accepted.append(ticket_accept(ticket=ticket, agent=agent))
        except ValidationError as exc:
            refused.append((ticket, " ".join(exc.messages)))
    return accepted, refused


def tickets_transfer_many(
    *, actor: User, tickets: Iterable[Ticket], reason: str, agent: User | None = None
) -> tuple[list[Ticket], list[tuple[Ticket, str]]]:
    """转派 each ticket, to ``agent`` or (None) to its pool's next agent in turn, with one reason."""
    moved: list[Ticket] = []
    refused: list[tuple[Ticket, str]] = []
    for ticket in tickets:
        try:
            moved.append(ticket_transfer(ticket=ticket, actor=actor, reason=reason, agent=agent))
        except ValidationError as exc:
            refused.append((ticket, " ".join(exc.messages)))
    return moved, refused
