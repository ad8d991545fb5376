"""How many questions the knowledge base answered without a ticket (这解决了我的问题), for the ticket
reports.

The capability apps do not import each other (``lint-imports``), so the ticket reports read this
figure through this small interface, which the wiring fills at start-up
(``helpdesk.knowledge_sources``) with an implementation asking ``knowledge.reports``, so the knowledge
base's own scope rule decides. Without it (a bare test of this app) there is no figure: ``None``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class SelfSolvedCounter(Protocol):
    def self_solved_count(self, *, user, unit_path: str, since: datetime, until: datetime) -> int | None:
        """Questions readers in the subtree of the unit at ``unit_path`` marked solved by an article
        between ``since`` (inclusive) and ``until`` (exclusive); None when ``user`` may not see them."""


class _NoKnowledgeBase:
    def self_solved_count(self, *, user, unit_path: str, since: datetime, until: datetime) -> int | None:
        return None


_counter: SelfSolvedCounter = _NoKnowledgeBase()


def register_self_solved_counter(counter: SelfSolvedCounter) -> None:
    global _counter
    _counter = counter


def self_solved_counter() -> SelfSolvedCounter:
    return _counter
