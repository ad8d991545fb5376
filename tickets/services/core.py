"""Applying the one transition table (``tickets.models.TRANSITIONS``), ticket numbers, timeline
lines and events. Creation (intake.py),
routing (routing.py), review, replies and rating (workflow.py) and the SLA sweep (sweep.py) build on
these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import User
from helpdesk.core.events import send_event, send_events
from helpdesk.core.search import search_text_for
from helpdesk.core.tombstones import record_removed, record_removed_rows

from .. import events, notifications, selectors
from ..models import TRANSITIONS, Priority, Ticket, TicketEvent, TicketSearch, TicketState
from .sla import apply_clock_effects, refresh_sla_schedule, sla_policy_for, ticket_compute_deadlines

S = TicketState

EVENT_FOR_ACTION = {
    "accept": TicketEvent.Kind.ACCEPTED,
    "request_info": TicketEvent.Kind.INFO_REQUESTED,
    "provide_info": TicketEvent.Kind.INFO_PROVIDED,
    # A draft for review is not an answer: 已答复 only once the asker has it (approve, answer_direct).
    "submit_answer": TicketEvent.Kind.ANSWER_SUBMITTED,
    "answer_direct": TicketEvent.Kind.ANSWERED,
    "approve": TicketEvent.Kind.REVIEWED,
    "reject": TicketEvent.Kind.REJECTED,
    "confirm": TicketEvent.Kind.CONFIRMED,
    "reopen": TicketEvent.Kind.REOPENED,
    "rate": TicketEvent.Kind.RATED,
    "close": TicketEvent.Kind.CLOSED,
    "escalate": TicketEvent.Kind.ESCALATED,
    "forward": TicketEvent.Kind.FORWARDED,
    "transfer": TicketEvent.Kind.TRANSFERRED,
    "withdraw": TicketEvent.Kind.WITHDRAWN,
    "close_invalid": TicketEvent.Kind.CLOSED_INVALID,
    "merge": TicketEvent.Kind.MERGED,
}


@dataclass
class Step:
    """What an action decides once it holds the row lock and has seen the ticket's current state:
    the fields to change, the timeline line's data, extra lines, and who else hears of it. Actions
    whose outcome depends on the row (who is in the pool now, which pool is above) return it from
    ``ticket_transition``'s ``prepare``, so a racing action cannot change the row between the read
    and the write."""

    changes: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    lines: list[TicketEvent] = field(default_factory=list)
    recipients: set[int] = field(default_factory=set)
    # The event's payload when the action's type declares another shape than ticket_payload's.
    payload: dict[str, Any] | None = None


def ticket_number_for(day: date, serial: int) -> str:
    """``TS`` + date + daily serial of at least three digits: ``TS20231027001``."""
    return f"TS{day:%Y%m%d}{serial:03d}"


def event(
    ticket: Ticket,
    *,
    actor: User | None,
    kind: str,
    from_state: str = "",
    to_state: str = "",
    comment: str = "",
    data: dict[str, Any] | None = None,
) -> TicketEvent:
    """An unsaved timeline line; callers bulk-create them."""
    return TicketEvent(
        ticket=ticket,
        actor=actor,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        data=data or {},
    )


def _record(ticket: Ticket, **fields: Any) -> TicketEvent:
    line = event(ticket, **fields)
    line.save()
    return line


def notify_ticket(
    ticket: Ticket,
    *,
    event_type: str = events.TICKET_UPDATED,
    extra: set[int] | None = None,
    payload: dict[str, Any] | None = None,
    actor_id: int | None = None,
    body: str = "",
) -> None:
    """Tell the people of a ticket (asker, handler, and whoever else is named) that it changed, and
    leave a notification in the bell of those the change concerns (tickets.notifications).

    A type about an answer under review goes to staff only; the asker hears ``ticket.updated``."""
    recipients = {ticket.asker_id} | ({ticket.assignee_id} if ticket.assignee_id else set()) | (extra or set())
    account_services.notify(
        notifications.drafts_for(event_type, ticket, recipients=recipients, actor_id=actor_id, body=body)
    )
    if payload is None:
        payload = events.answered_payload(ticket) if event_type == events.TICKET_ANSWERED else None
    payload = payload or events.ticket_payload(ticket)
    if event_type in events.STAFF_ONLY_EVENTS and ticket.asker_id in recipients:
        send_events(
            [
                (recipients - {ticket.asker_id}, event_type, payload),
                ([ticket.asker_id], events.TICKET_UPDATED, events.ticket_payload(ticket)),
            ]
        )
        return
    send_event(user_ids=recipients, event_type=event_type, payload=payload)


def ticket_transition(
    *,
    ticket: Ticket,
    actor: User | None,
    action: str,
    comment: str = "",
    changes: dict[str, Any] | None = None,
    extra_recipients: set[int] | None = None,
    data: dict[str, Any] | None = None,
    prepare: Callable[[Ticket], Step] | None = None,
    event_type: str | None = None,
    same_outcome: Callable[[Ticket], bool] | None = None,
) -> Ticket:
    """Apply one action of the transition table under a row lock; refuse what the table does not allow.

    Two agents accepting at once: the second waits for the first's lock, then finds the ticket no
    longer new and is refused, so there is exactly one winner. ``prepare`` (called with the locked
    row, before any change) may refuse with a ValidationError or return a ``Step``.

    A retry of an action that already took effect is not refused: see ``already_done``. The ticket
    comes back unchanged with ``already_done`` set, so callers skip their own extra writes.
    """
    if action not in TRANSITIONS:
        raise ValidationError({"action": [_("Unknown action.")]})
    allowed_from, to_state = TRANSITIONS[action]
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.state not in allowed_from:
            if already_done(
                locked,
                actor=actor,
                action=action,
                comment=comment,
                changes=changes or {},
                same_outcome=same_outcome,
            ):
                locked.already_done = True
                return locked
            raise ValidationError(
                {
                    "state": [
                        _("This action is not possible while the ticket is “%(state)s”.")
                        % {"state": locked.get_state_display()}
                    ]
                }
            )
        from_state = locked.state
        before = (locked.assignee_id, locked.pool_unit_id)
        step = prepare(locked) if prepare is not None else Step()
        changes = (changes or {}) | step.changes
        locked.state = to_state
        for name, value in changes.items():
            setattr(locked, name, value)
        _index_published_answer(locked, from_state=from_state, solution_changed="solution" in changes)
        apply_clock_effects(locked, action=action, now=timezone.now())
        locked.save()
        _record(
            locked,
            actor=actor,
            kind=EVENT_FOR_ACTION[action],
            from_state=from_state,
            to_state=to_state,
            comment=comment,
            data={k: _plain(v) for k, v in changes.items()} | (data or {}) | step.data,
        )
        if step.lines:
            TicketEvent.objects.bulk_create(step.lines)
        record_left_lists(locked, assignee=before[0], pool=before[1])
        extra = ({actor.pk} if actor else set()) | (extra_recipients or set()) | step.recipients
        notify_ticket(
            locked,
            event_type=event_type or events.ACTION_EVENTS.get(action, events.TICKET_UPDATED),
            extra=extra - {None},
            payload=step.payload,
            actor_id=actor.pk if actor else None,
            body=comment,
        )
    return locked


def record_left_lists(ticket: Ticket, *, assignee: int | None, pool: int | None) -> None:
    """Tombstones for the lists the ticket left without a change their readers could find
    (selectors.ticket_delta_source): the previous handler's, when another took it (转派, 上报), and
    the previous pool's, when it moved up. Same transaction as the change."""
    rows: list[tuple[str, int, int | None]] = []
    if assignee and assignee != ticket.assignee_id:
        rows.append((selectors.TOMBSTONE_KIND, ticket.pk, assignee))
    if pool and pool != ticket.pool_unit_id:
        rows.append((selectors.pool_tombstone_kind(pool), ticket.pk, None))
    record_removed_rows(rows)


def tickets_removed(*, ticket_ids: list[int]) -> None:
    """Deleted tickets (the back office, a clean-up): gone from everyone's lists. The tombstone
    carries the id only, so it is written for everyone rather than for each user who could see them."""
    record_removed(kind=selectors.TOMBSTONE_KIND, object_ids=ticket_ids)


def follow_ups_removed(*, follow_up_ids: list[int]) -> None:
    """Deleted follow-ups (with their ticket): gone from every follow-up list."""
    record_removed(kind=selectors.FOLLOW_UP_TOMBSTONE_KIND, object_ids=follow_up_ids)


def already_done(
    ticket: Ticket,
    *,
    actor: User | None,
    action: str,
    comment: str = "",
    changes: dict[str, Any] | None = None,
    same_outcome: Callable[[Ticket], bool] | None = None,
) -> bool:
    """Whether ``action`` by ``actor`` is a retry of a request that already took effect: the ticket is
    in the action's target state and its latest change of state is this action, by this user, with
    the same content (comment, reason or answer, and the values it set). The phone sent it again
    because the answer was lost on the way back; it gets the ticket as it is, not a refusal that
    reads like a real one. Anything in between (another action, another person, other words) makes
    it a new request, judged on its own. Only consulted when the table refuses the action, so it
    costs a query on that path only. Transfer and forward lead back to 待处理, where the table allows
    them again: a repeat is a new transfer there, and only an Idempotency-Key tells a retry apart."""
    if actor is None or ticket.state != TRANSITIONS[action][1]:
        return False
    line = TicketEvent.objects.filter(ticket=ticket).exclude(to_state="").order_by("-id").first()
    if line is None or line.kind != EVENT_FOR_ACTION[action] or line.actor_id != actor.pk:
        return False
    if line.comment != comment:
        return False
    # Moments (rated_at) differ between the first request and its retry by nature.
    if any(not isinstance(v, datetime) and line.data.get(k) != _plain(v) for k, v in (changes or {}).items()):
        return False
    return same_outcome is None or same_outcome(ticket)


def _index_published_answer(ticket: Ticket, *, from_state: str, solution_changed: bool) -> None:
    """Keep the answer in the search index exactly while the asker may read it on the ticket.

    One index serves every reader's search, the asker's ``?view=mine&q=`` included, so it holds only
    what all of them may read: a draft waiting for review, or one sent back, is never indexed (the
    asker would find the ticket by the draft's words), and the answer comes in when it is published
    (approved, approved with the reviewer's edit, or given where review is off) and goes out again
    when the asker reopens the ticket. Staff lose nothing they need: 答案查询 looks up answers
    that were given, and a draft is on its ticket's page."""
    visible = selectors.answer_published(ticket)
    if visible == (from_state in selectors.ANSWER_VISIBLE_STATES) and not (visible and solution_changed):
        return
    text = search_text_for(ticket.title, ticket.description, ticket.solution if visible else "")
    TicketSearch.objects.update_or_create(ticket=ticket, defaults={"text": text})


def _plain(value: Any) -> Any:
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, datetime):
        return value.isoformat()
    return value if isinstance(value, (int, float, bool)) or value is None else str(value)


def _is_agent_for(agent: User, ticket: Ticket) -> bool:
    """A support agent of the ticket's unit or of a unit above it (the pools that may serve it)."""
    return "agent" in selectors.ticket_capabilities(user=agent, ticket=ticket)


def ticket_accept(*, ticket: Ticket, agent: User) -> Ticket:
    """The handling agent confirms receipt (seed 004: within 1 hour) and becomes the handler."""
    if ticket.assignee_id not in (None, agent.pk):
        raise ValidationError({"agent": [_("This ticket is assigned to another agent.")]})
    if not _is_agent_for(agent, ticket):
        raise ValidationError({"agent": [_("Only a support agent of this unit or a unit above it can accept.")]})
    return ticket_transition(ticket=ticket, actor=agent, action="accept", changes={"assignee": agent})


def ticket_change_priority(*, ticket: Ticket, agent: User, priority: str, reason: str) -> Ticket:
    """An agent re-grades the asker's proposed priority, with a reason; deadlines follow."""
    if priority not in Priority.values:
        raise ValidationError({"priority": [_("Choose a valid priority.")]})
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Say why the priority changes.")]})
    if not _is_agent_for(agent, ticket):
        raise ValidationError({"agent": [_("Only a support agent of this unit or a unit above it can do this.")]})
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.state == S.CLOSED:
            raise ValidationError({"state": [_("A closed ticket cannot change.")]})
        old = locked.priority
        locked.priority = priority
        policy = sla_policy_for(priority)
        ticket_compute_deadlines(ticket=locked, policy=policy)
        refresh_sla_schedule(locked, policy=policy)
        locked.save()
        _record(
            locked,
            actor=agent,
            kind=TicketEvent.Kind.PRIORITY_CHANGED,
            comment=reason.strip(),
            data={"from": old, "to": priority},
        )
        notify_ticket(locked, event_type=events.TICKET_PRIORITY_CHANGED)
    return locked
