"""问题回答, 答案审核 and 接收答案: replies and notes, answers and their review, the asker's
confirmation, reopening and rating, and the follow-up a poor rating opens (seed 004)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import User
from accounts.scope import scope_of
from helpdesk.core.events import send_event
from orgtree.models import OrgUnit

from .. import events, notifications, selectors
from ..models import POOR_RATINGS, FollowUp, Rating, SupportSettings, Ticket, TicketEvent, TicketMessage, TicketState
from .core import _record, notify_ticket, ticket_transition
from .sla import refresh_sla_schedule

FOLLOW_UP_WITHIN = timedelta(hours=24)


def _text(value: str | None, field: str, message: str, max_length: int = 10000) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError({field: [message]})
    if len(text) > max_length:
        raise ValidationError({field: [_("At most %(n)d characters.") % {"n": max_length}]})
    return text


def _require(condition: bool, field: str, message: str) -> None:
    if not condition:
        raise ValidationError({field: [message]})


def _caps(user: User, ticket: Ticket) -> set[str]:
    return selectors.ticket_capabilities(user=user, ticket=ticket)


def _require_handler(ticket: Ticket, agent: User) -> None:
    _require(
        ticket.assignee_id == agent.pk and "agent" in _caps(agent, ticket),
        "agent",
        _("Only the agent handling this ticket can do this."),
    )


def ticket_request_info(*, ticket: Ticket, agent: User, question: str) -> Ticket:
    """Ask the asker for more; the SLA clock stops until they reply."""
    question = _text(question, "question", _("Say what you need to know."))
    _require_handler(ticket, agent)
    with transaction.atomic():
        ticket = ticket_transition(ticket=ticket, actor=agent, action="request_info", comment=question)
        if not getattr(ticket, "already_done", False):  # a retry: the question is on the thread already
            TicketMessage.objects.create(ticket=ticket, author=agent, body=question)
    return ticket


def ticket_reply(*, ticket: Ticket, author: User, body: str) -> TicketMessage:
    """A reply the asker sees. The asker's reply to a request for information resumes the clock.

    Every reply is kept, whatever the ticket's state while it is open. The asker often answers a
    question in two messages sent at once (the text, then "and the model is ..."): the first resumes
    the ticket, the second finds it in progress again and is simply one more message for the handler,
    as on any support desk. The ticket's row is locked first, so of two replies to a waiting ticket
    exactly one resumes it and the other waits for that, then reads the new state; neither is refused.
    """
    body = _text(body, "body", _("Write a message."))
    caps = _caps(author, ticket)
    _require(bool(caps & ({"asker"} | selectors.STAFF_CAPABILITIES)), "author", _("You cannot reply to this ticket."))
    with transaction.atomic():
        # The state as of now, not as of the caller's copy (which may predate a request for
        # information or a close), held until the message and any resumption are written.
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        _require(locked.state != TicketState.CLOSED, "state", _("This ticket is closed."))
        message = TicketMessage.objects.create(ticket=locked, author=author, body=body)
        if "asker" not in caps:
            _record_first_response(locked)
        if "asker" in caps and locked.state == TicketState.WAITING_ASKER:
            locked = ticket_transition(ticket=locked, actor=author, action="provide_info")
        notify_ticket(locked, event_type=events.TICKET_MESSAGE, extra={author.pk})
    return message


def _record_first_response(ticket: Ticket) -> None:
    """Support staff's first public word to the asker meets the first-response target."""
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if locked.first_response_at is None:
        locked.first_response_at = timezone.now()
        refresh_sla_schedule(locked)
        locked.save()


def ticket_add_note(*, ticket: Ticket, author: User, body: str) -> TicketMessage:
    """An internal note: agents, reviewers and supervisors see it, the asker never does."""
    body = _text(body, "body", _("Write a note."))
    _require(
        bool(_caps(author, ticket) & selectors.STAFF_CAPABILITIES),
        "author",
        _("Only support staff can write internal notes."),
    )
    _require(ticket.state != TicketState.CLOSED, "state", _("This ticket is closed."))
    with transaction.atomic():
        note = TicketMessage.objects.create(ticket=ticket, author=author, body=body, internal=True)
        recipients = {author.pk} | ({ticket.assignee_id} if ticket.assignee_id else set())
        send_event(
            user_ids=recipients,
            event_type=events.TICKET_MESSAGE,
            payload=events.ticket_payload(ticket),
        )
    return note


def ticket_submit_answer(*, ticket: Ticket, agent: User, solution: str) -> Ticket:
    """The handler's proposed answer goes to the answering unit's reviewers, or straight to the
    asker when that unit has turned review off."""
    solution = _text(solution, "solution", _("Write the answer."), max_length=20000)
    _require_handler(ticket, agent)
    if selectors.review_required(unit_id=ticket.pool_unit_id):
        reviewers = set(selectors.reviewers_of(unit_id=ticket.pool_unit_id)) if ticket.pool_unit_id else set()
        return ticket_transition(
            ticket=ticket,
            actor=agent,
            action="submit_answer",
            changes={"solution": solution},
            extra_recipients=reviewers,
        )
    return ticket_transition(ticket=ticket, actor=agent, action="answer_direct", changes={"solution": solution})


def _require_reviewer(ticket: Ticket, reviewer: User) -> None:
    _require(
        "reviewer" in _caps(reviewer, ticket),
        "reviewer",
        _("Only a reviewer of the answering unit can review this answer."),
    )


def ticket_approve(*, ticket: Ticket, reviewer: User, solution: str | None = None) -> Ticket:
    """Approve the answer, the asker receives it; with ``solution`` the reviewer edits it first."""
    _require_reviewer(ticket, reviewer)
    changes = {}
    if solution is not None:
        edited = _text(solution, "solution", _("Write the answer."), max_length=20000)
        if edited != ticket.solution:
            # The timeline keeps the edited answer in its data; pages say "edited" in the reader's language.
            changes["solution"] = edited
    return ticket_transition(ticket=ticket, actor=reviewer, action="approve", changes=changes)


def ticket_reject(*, ticket: Ticket, reviewer: User, reason: str) -> Ticket:
    reason = _text(reason, "reason", _("Say why the answer is rejected."))
    _require_reviewer(ticket, reviewer)
    return ticket_transition(ticket=ticket, actor=reviewer, action="reject", comment=reason)


def _require_asker(ticket: Ticket, asker: User) -> None:
    _require(ticket.asker_id == asker.pk, "asker", _("Only the person who asked can do this."))


def ticket_confirm(*, ticket: Ticket, asker: User) -> Ticket:
    """The asker confirms the problem solved."""
    _require_asker(ticket, asker)
    return ticket_transition(ticket=ticket, actor=asker, action="confirm")


def ticket_reopen(*, ticket: Ticket, asker: User, reason: str) -> Ticket:
    """The answer did not solve it: back to the handler, with the asker's reason."""
    reason = _text(reason, "reason", _("Say what is still wrong."))
    _require_asker(ticket, asker)
    _require(not ticket.rating, "state", _("A rated ticket cannot be reopened; ask a new question."))
    return ticket_transition(ticket=ticket, actor=asker, action="reopen", comment=reason)


def ticket_rate(*, ticket: Ticket, asker: User, rating: str, feedback: str = "") -> Ticket:
    """Rate the service; this closes (archives) the ticket. 一般 or 不满意 opens a follow-up for the
    supervisors of the unit that answered, due in 24 hours."""
    _require(rating in Rating.values, "rating", _("Choose one of the satisfaction levels."))
    feedback = (feedback or "").strip()
    _require(len(feedback) <= 2000, "feedback", _("At most %(n)d characters.") % {"n": 2000})
    _require_asker(ticket, asker)
    now = timezone.now()
    with transaction.atomic():
        ticket = ticket_transition(
            ticket=ticket,
            actor=asker,
            action="rate",
            comment=feedback,
            changes={"rating": rating, "feedback": feedback, "rated_at": now},
        )
        # A retry of the rating that closed the ticket opens no second follow-up.
        if rating in POOR_RATINGS and not getattr(ticket, "already_done", False):
            unit_id = ticket.pool_unit_id or ticket.unit_id
            follow_up = FollowUp.objects.create(ticket=ticket, unit_id=unit_id, due_at=now + FOLLOW_UP_WITHIN)
            _record(
                ticket,
                actor=None,
                kind=TicketEvent.Kind.FOLLOW_UP,
                data={"follow_up": follow_up.pk, "unit": unit_id, "due_at": follow_up.due_at.isoformat()},
            )
            supervisors = selectors.supervisors_of(unit_ids=[unit_id]).get(unit_id, [])
            # The answering agent is told too: the follow-up is about its answer.
            handler = [ticket.assignee_id] if ticket.assignee_id else []
            send_event(
                user_ids=[*supervisors, *handler],
                event_type=events.TICKET_FOLLOW_UP,
                payload=events.follow_up_payload(ticket, follow_up),
            )
            account_services.notify(
                notifications.drafts_for(
                    events.TICKET_FOLLOW_UP, ticket, recipients={*supervisors, *handler}, body=feedback
                )
            )
    return ticket


def follow_up_complete(*, follow_up: FollowUp, user: User, outcome: str) -> FollowUp:
    """The supervisor records what the follow-up found and did."""
    outcome = _text(outcome, "outcome", _("Say what the follow-up found and did."), max_length=5000)
    with transaction.atomic():
        locked = FollowUp.objects.select_for_update().select_related("unit", "ticket").get(pk=follow_up.pk)
        _require(scope_of(user).manages_unit(locked.unit), "user", _("Only a supervisor of this unit can complete it."))
        _require(locked.done_at is None, "follow_up", _("This follow-up is already done."))
        locked.done_at, locked.done_by, locked.outcome = timezone.now(), user, outcome
        locked.save(update_fields=["done_at", "done_by", "outcome", "updated_at"])
        _record(locked.ticket, actor=user, kind=TicketEvent.Kind.FOLLOW_UP_DONE, comment=outcome)
        # Every supervisor's open list drops it live; the answering agent learns how it ended.
        supervisors = selectors.supervisors_of(unit_ids=[locked.unit_id]).get(locked.unit_id, [])
        handler = [locked.ticket.assignee_id] if locked.ticket.assignee_id else []
        send_event(
            user_ids=[*supervisors, *handler],
            event_type=events.TICKET_FOLLOW_UP_DONE,
            payload=events.follow_up_payload(locked.ticket, locked),
        )
    return locked


def support_settings_set(*, unit: OrgUnit, admin: User, review_required: bool) -> SupportSettings:
    """A unit's administrators (or those above) turn review of the unit's answers on or off."""
    _require(
        scope_of(admin).manages_unit(unit), "unit", _("Only an administrator of this unit can change its settings.")
    )
    row, _created = SupportSettings.objects.update_or_create(unit=unit, defaults={"review_required": review_required})
    return row


ARCHIVE_AFTER = timedelta(days=7)


def tickets_archive_resolved(
    *, now: datetime | None = None, after: timedelta = ARCHIVE_AFTER, batch_size: int = 500
) -> int:
    """Close (archive) tickets the asker confirmed solved but did not rate within ``after``; rating
    stays possible only while a ticket is resolved. Idempotent: closed tickets are not touched again."""
    now = now or timezone.now()
    closed = 0
    while True:
        ids = list(
            Ticket.objects.filter(state=TicketState.RESOLVED, resolved_at__lt=now - after)
            .order_by("id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return closed
        for ticket_id in ids:
            try:
                ticket_transition(ticket=Ticket(pk=ticket_id), actor=None, action="close", data={"reason": "unrated"})
                closed += 1
            except ValidationError:
                continue  # rated or reopened in the meantime
