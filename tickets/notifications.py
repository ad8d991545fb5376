"""What tickets put in people's notification centre (the bell), and by which channels by default.

The services call ``drafts_for`` with the event they send: a notification is written for the
recipients a kind is meant for (an info request for the asker, an assignment for the new handler …),
never for the person whose own action it reports. New tickets in a pool are told to its agents by a
Celery task after the create commits (``pool_drafts``), so the create path stays two queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.notifications import NotificationKind, register_kinds
from accounts.services import Draft

from . import events

NEW_IN_POOL = "ticket.new_in_pool"
ASSIGNED = "ticket.assigned"
INFO_REQUESTED = "ticket.info_requested"
ANSWERED = "ticket.answered"
REOPENED = "ticket.reopened"
SLA_WARNING = "ticket.sla_warning"
SLA_BREACHED = "ticket.sla_breached"
FOLLOW_UP = "ticket.follow_up"

register_kinds(
    NotificationKind(NEW_IN_POOL, gettext_lazy("A new question in my pool")),
    NotificationKind(ASSIGNED, gettext_lazy("A question assigned to me")),
    NotificationKind(INFO_REQUESTED, gettext_lazy("Support asks me for more information"), email=True),
    NotificationKind(ANSWERED, gettext_lazy("My question was answered"), email=True),
    NotificationKind(REOPENED, gettext_lazy("An answer of mine did not solve the question")),
    NotificationKind(SLA_WARNING, gettext_lazy("Service time limit warning")),
    NotificationKind(SLA_BREACHED, gettext_lazy("Service time limit passed"), email=True),
    NotificationKind(FOLLOW_UP, gettext_lazy("A follow-up after a poor rating")),
)


def _title(kind: str, ticket: Any) -> str:
    titles = {
        NEW_IN_POOL: _("New question %(number)s: %(title)s"),
        ASSIGNED: _("Assigned to you: %(number)s %(title)s"),
        INFO_REQUESTED: _("Please add information: %(number)s %(title)s"),
        ANSWERED: _("Your question was answered: %(number)s %(title)s"),
        REOPENED: _("Reopened by the asker: %(number)s %(title)s"),
        SLA_WARNING: _("Deadline near: %(number)s %(title)s"),
        SLA_BREACHED: _("Deadline passed: %(number)s %(title)s"),
        FOLLOW_UP: _("Follow-up needed: %(number)s %(title)s"),
    }
    return titles[kind] % {"number": ticket.number, "title": ticket.title}


def _draft(kind: str, ticket: Any, user_ids: Iterable[int], body: str = "") -> Draft:
    return Draft(
        user_ids=list(user_ids),
        kind=kind,
        title=_title(kind, ticket),
        body=body[:500],
        url=reverse("tickets:detail", args=[ticket.pk]),
        subject_type="ticket",
        subject_id=ticket.pk,
    )


def drafts_for(
    event_type: str, ticket: Any, *, recipients: set[int], actor_id: int | None = None, body: str = ""
) -> list[Draft]:
    """The notifications a ticket event leaves in the bell of those of ``recipients`` it concerns."""
    others = recipients - {actor_id, None}
    handler = {ticket.assignee_id} & others if ticket.assignee_id else set()
    asker = {ticket.asker_id} & others
    if event_type == events.TICKET_INFO_REQUESTED:
        return [_draft(INFO_REQUESTED, ticket, asker, body)]
    if event_type == events.TICKET_ANSWERED:
        return [_draft(ANSWERED, ticket, asker, getattr(ticket, "solution", "") or "")]
    if event_type == events.TICKET_REOPENED:
        return [_draft(REOPENED, ticket, handler, body)]
    if event_type in (
        events.TICKET_ASSIGNED,
        events.TICKET_TRANSFERRED,
        events.TICKET_FORWARDED,
        events.TICKET_ESCALATED,
    ):
        drafts = [_draft(ASSIGNED, ticket, handler, body)] if handler else []
        if event_type in (events.TICKET_FORWARDED, events.TICKET_ESCALATED):
            # The new pool's supervisors (named in the recipients) are told a question arrived.
            drafts.append(_draft(NEW_IN_POOL, ticket, others - handler - asker))
        return drafts
    if event_type == events.TICKET_SLA_WARNING:
        return [_draft(SLA_WARNING, ticket, others - asker)]
    if event_type == events.TICKET_SLA_BREACHED:
        return [_draft(SLA_BREACHED, ticket, others - asker)]
    if event_type == events.TICKET_FOLLOW_UP:
        return [_draft(FOLLOW_UP, ticket, others - asker)]
    return []


def pool_drafts(ticket: Any, *, agent_ids: Iterable[int]) -> list[Draft]:
    """A new ticket: its handler is told it is theirs, the pool's other agents that it arrived."""
    agents = set(agent_ids) - {ticket.asker_id}
    drafts = [_draft(NEW_IN_POOL, ticket, agents - {ticket.assignee_id})]
    if ticket.assignee_id and ticket.assignee_id != ticket.asker_id:
        drafts.append(_draft(ASSIGNED, ticket, [ticket.assignee_id]))
    return drafts
