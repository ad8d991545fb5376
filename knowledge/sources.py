"""Where an article comes from when it is made from a resolved ticket.

The capability apps do not import each other (``lint-imports``), so the knowledge base reads tickets
through this small interface, which the wiring fills at start-up (``helpdesk.knowledge_sources``)
with an implementation asking ``tickets.selectors``: which tickets the user may see, which it may
turn into an article, and what their question and approved answer say. Without it (a bare test of
this app) no ticket is found and ticket types are not checked beyond being short strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class TicketSource:
    """What an article takes from a resolved ticket."""

    id: int
    number: str
    title: str
    question: str
    answer: str
    ticket_type: str
    # The unit whose pool answered it: the article's owning unit when the user works there.
    answering_unit_id: int | None


class TicketSourceProvider(Protocol):
    def ticket_for_article(self, *, user, ticket_id: int) -> TicketSource | None:
        """The ticket if the user may see it, it has an approved answer that reached the asker, and
        the user is its support staff; otherwise None."""

    def visible_ticket_ids(self, *, user, ids: Iterable[int]) -> set[int]:
        """Those of ``ids`` the user may open."""

    def ticket_type_choices(self) -> list[tuple[str, str]]:
        """(value, label) of the ticket types."""


class _NoTickets:
    def ticket_for_article(self, *, user, ticket_id: int) -> TicketSource | None:
        return None

    def visible_ticket_ids(self, *, user, ids: Iterable[int]) -> set[int]:
        return set()

    def ticket_type_choices(self) -> list[tuple[str, str]]:
        return []


_provider: TicketSourceProvider = _NoTickets()


def register_ticket_source(provider: TicketSourceProvider) -> None:
    global _provider
    _provider = provider


def ticket_source() -> TicketSourceProvider:
    return _provider
