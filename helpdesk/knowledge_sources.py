"""The knowledge base's window on tickets (``knowledge.sources``), filled in by the wiring, which may
import both apps: which tickets a user may open, and which resolved tickets it may turn into an
article, answered by ``tickets.selectors`` so the tickets' own rules decide."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.http import Http404

from knowledge.reports import self_solved_in_subtree
from knowledge.sources import TicketSource, register_ticket_source
from tickets import selectors as ticket_selectors
from tickets.models import Ticket, TicketState, TicketType
from tickets.self_service import register_self_solved_counter

# A ticket whose answer the asker confirmed (已解决), or archived after that (已关闭 without a reason).
CAPTURABLE_STATES = frozenset({TicketState.RESOLVED, TicketState.CLOSED})


class TicketsForKnowledge:
    def ticket_for_article(self, *, user, ticket_id: int) -> TicketSource | None:
        try:
            ticket = ticket_selectors.ticket_get(user=user, pk=ticket_id)
        except Http404:
            return None
        if ticket.state not in CAPTURABLE_STATES or not ticket_selectors.answer_published(ticket):
            return None
        capabilities = ticket_selectors.ticket_capabilities(user=user, ticket=ticket)
        if not capabilities & ticket_selectors.STAFF_CAPABILITIES:
            return None
        return TicketSource(
            id=ticket.pk,
            number=ticket.number,
            title=ticket.title,
            question=ticket.description,
            answer=ticket.solution,
            ticket_type=ticket.type,
            answering_unit_id=ticket.pool_unit_id,
        )

    def visible_ticket_ids(self, *, user, ids: Iterable[int]) -> set[int]:
        wanted = [pk for pk in ids if pk is not None]
        if not wanted:
            return set()
        return set(ticket_selectors.visible_tickets(user=user).filter(pk__in=wanted).values_list("pk", flat=True))

    def ticket_type_choices(self) -> list[tuple[str, str]]:
        return [(value, str(label)) for value, label in TicketType.choices]


class SelfSolvedForTickets:
    """The ticket reports' window on the knowledge base (``tickets.self_service``)."""

    def self_solved_count(self, *, user, unit_path: str, since: datetime, until: datetime) -> int | None:
        return self_solved_in_subtree(user=user, unit_path=unit_path, since=since, until=until)


def register() -> None:
    register_ticket_source(TicketsForKnowledge())
    register_self_solved_counter(SelfSolvedForTickets())


def ticket_may_become_article(*, user, ticket: Ticket) -> bool:
    """Whether the ticket page offers 收录为知识 to this user."""
    return TicketsForKnowledge().ticket_for_article(user=user, ticket_id=ticket.pk) is not None
