"""Ticket actions beyond the answer path (issue 17): the asker withdraws, staff close as invalid,
转派 transfer to another agent of the pool or to another pool (handling group) of the same unit,
上报 forward to the pool one level up, and merge a duplicate into another ticket. Each is one entry
of the transition table, applied by ``ticket_transition`` under the ticket's row lock, so of two
racing actions one wins and the other finds the ticket changed and is refused.

Who may act: the asker withdraws; the handler (the assigned agent) or a supervisor (administrator of
the ticket's unit or a unit above) does the rest. A ticket the actor may not see never gets here
(the selectors answer 404 first); one they may see but not act on is a ValidationError (400).

SLA (seed 004): closing stops every clock; a transfer (to an agent or to another group) restarts the
1-hour acknowledgement for the new agent and keeps the response and resolution deadlines; a forward
follows the sweep's escalation (a fresh window in the pool above). See ``sla.apply_clock_effects``
and ``sweep.escalate_one``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import HandlingGroup, User

from .. import events, selectors
from ..fields import REASON_MAX
from ..models import CloseReason, Ticket, TicketEvent
from .core import Step, _record, event, notify_ticket, ticket_transition
from .routing import GROUP_FOR_TYPE
from .sla import sla_policy_for
from .sweep import Agent, _pools_and_agents, _save_turns, _start_path, escalate_one, take_turns


def _reason(value: str | None, *, required: bool, message: str = "") -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError({"reason": [message]})
    if len(text) > REASON_MAX:
        raise ValidationError({"reason": [_("At most %(n)d characters.") % {"n": REASON_MAX}]})
    return text


def _require_handler_or_supervisor(ticket: Ticket, actor: User) -> set[str]:
    # Called on the caller's copy (to refuse early, before any lock) and again on the locked row.
    caps = selectors.ticket_capabilities(user=actor, ticket=ticket)
    handler = "agent" in caps and ticket.assignee_id == actor.pk
    if not (handler or "supervisor" in caps):
        raise ValidationError(
            {"actor": [_("Only the agent handling this ticket or a supervisor of its unit can do this.")]}
        )
    return caps


def ticket_withdraw(*, ticket: Ticket, asker: User, reason: str = "") -> Ticket:
    """The asker withdraws the question before an approved answer exists (the table allows it up to
    待审核). The ticket closes as withdrawn and can never be rated."""
    reason = _reason(reason, required=False)
    if ticket.asker_id != asker.pk:
        raise ValidationError({"asker": [_("Only the person who asked can withdraw the question.")]})
    return ticket_transition(
        ticket=ticket,
        actor=asker,
        action="withdraw",
        comment=reason,
        changes={"close_reason": CloseReason.WITHDRAWN},
        event_type=events.TICKET_WITHDRAWN,
    )


def ticket_close_invalid(*, ticket: Ticket, actor: User, reason: str) -> Ticket:
    """The handler or a supervisor closes a question that is not one, with a reason the asker reads.
    No rating is asked and no follow-up opens (rate starts from 已解决 only)."""
    reason = _reason(reason, required=True, message=_("Say why the ticket is invalid."))
    _require_handler_or_supervisor(ticket, actor)

    def prepare(locked: Ticket) -> Step:
        _require_handler_or_supervisor(locked, actor)
        return Step(changes={"close_reason": CloseReason.INVALID})

    return ticket_transition(
        ticket=ticket,
        actor=actor,
        action="close_invalid",
        comment=reason,
        prepare=prepare,
        event_type=events.TICKET_CLOSED_INVALID,
    )


def _label(user: User) -> str:
    return user.name or user.username


def ticket_transfer(
    *, ticket: Ticket, actor: User, reason: str, agent: User | None = None, group: str | None = None
) -> Ticket:
    """转派: hand the ticket to another on-duty agent of the same pool who serves its type, with a
    reason; without ``agent``, to the pool: its next agent in turn other than the current one (the
    rotation the sweep uses when receipt is not confirmed, advanced as it is). A chosen agent does
    not advance the rotation: that is a choice, not a turn.

    With ``group`` (a handling group's code), to another pool of the same unit: that group's chosen
    on-duty agent, or its next in turn. The groups serve one type each (seed 004, step 3: tickets go
    to the group of their type), so the question takes the type that group serves: a 设备故障 that
    is a software fault moves to the 软件组 as a 软件异常, and routing, rotation, the sweep and the
    reports all follow it there. The timeline keeps both types.

    The new agent must confirm receipt (待处理, a new hour); the response and resolution deadlines
    do not move (a transfer buys no time, seed 004's targets count from the filing)."""
    reason = _reason(reason, required=True, message=_("Say why the ticket is transferred."))
    new_type = _type_for_group(group) if group else None
    _require_handler_or_supervisor(ticket, actor)

    def prepare(locked: Ticket) -> Step:
        # Read under the lock: the pool and the handler are those of now, not of the caller's copy
        # (a handler whose ticket was just transferred away may no longer act on it).
        _require_handler_or_supervisor(locked, actor)
        target_type = new_type or locked.type
        candidates = list(selectors.transfer_candidates(ticket=locked, group=GROUP_FOR_TYPE[target_type]))
        if agent is None:
            chosen = _next_in_turn(locked, candidates, ticket_type=target_type)
        elif agent.pk == locked.assignee_id:
            raise ValidationError({"agent": [_("This agent already handles the ticket.")]})
        else:
            chosen = next((user for user in candidates if user.pk == agent.pk), None)
            if chosen is None:
                if target_type != locked.type:
                    message = _("Choose an on-duty agent of that handling group at this ticket's unit.")
                else:
                    message = _("Choose an on-duty agent of this ticket's support pool who handles its type.")
                raise ValidationError({"agent": [message]})
        previous = locked.assignee_id
        changes: dict = {"assignee": chosen}
        data = {
            "from": previous,
            "from_name": _label(locked.assignee) if previous else "",
            "assignee": chosen.pk,
            "assignee_name": _label(chosen),
            "in_turn": agent is None,
        }
        if target_type != locked.type:
            changes["type"] = target_type
            groups = dict(HandlingGroup.objects.values_list("code", "name"))
            data |= {
                "from_type": locked.type,
                "from_group": GROUP_FOR_TYPE[locked.type],
                "group": GROUP_FOR_TYPE[target_type],
                "group_name": groups.get(GROUP_FOR_TYPE[target_type], GROUP_FOR_TYPE[target_type]),
            }
        return Step(changes=changes, data=data, recipients={chosen.pk} | ({previous} if previous else set()))

    return ticket_transition(
        ticket=ticket,
        actor=actor,
        action="transfer",
        comment=reason,
        prepare=prepare,
        event_type=events.TICKET_TRANSFERRED,
    )


def _type_for_group(code: str) -> str:
    """The ticket type a handling group serves (GROUP_FOR_TYPE read backwards; one type per group)."""
    for ticket_type, group_code in GROUP_FOR_TYPE.items():
        if group_code == code:
            return ticket_type
    raise ValidationError({"group": [_("Choose a handling group of this unit.")]})


def _next_in_turn(ticket: Ticket, candidates: list[User], *, ticket_type: str | None = None) -> User:
    """The next agent in turn among ``candidates`` (the others on duty) of the pool that serves
    ``ticket_type`` (the ticket's own by default) at the ticket's unit, by the sweep's rotation; the
    turn row is locked and saved in the caller's transaction."""
    ticket_type = ticket_type or ticket.type
    groups = dict(HandlingGroup.objects.values_list("code", "id"))
    code = GROUP_FOR_TYPE[ticket_type]
    key = (ticket.pool_unit_id, ticket_type)
    agents = {(ticket.pool_unit_id, code): [Agent(user.pk, _label(user)) for user in candidates]}
    rotation = take_turns({key}, groups=groups, agents=agents)[key] if ticket.pool_unit_id else None
    picked = rotation.next(avoid=ticket.assignee_id) if rotation is not None else None
    if picked is None:
        if ticket_type != ticket.type:
            raise ValidationError({"group": [_("No agent of that handling group is on duty at this ticket's unit.")]})
        raise ValidationError({"agent": [_("No other agent of this pool is on duty for this type of question.")]})
    _save_turns([rotation])
    return next(user for user in candidates if user.pk == picked.pk)


def ticket_forward(*, ticket: Ticket, actor: User, reason: str) -> Ticket:
    """上报: move the ticket by hand to the pool one level up, by the rule a breach escalates with
    (the nearest unit above with an on-duty agent of the type's group, its next agent in turn, a
    fresh window there). Refused when no pool above has such an agent."""
    reason = _reason(reason, required=True, message=_("Say why the ticket is forwarded up."))
    _require_handler_or_supervisor(ticket, actor)
    now = timezone.now()

    def prepare(locked: Ticket) -> Step:
        _require_handler_or_supervisor(locked, actor)
        # The sweep's routine reads the current pool's path as ``pool_path`` (its DueTicket's column).
        locked.pool_path = locked.pool_unit.path if locked.pool_unit_id else locked.unit_path
        targets, agents = _pools_and_agents([locked], [])
        target = targets[(_start_path(locked), locked.type)]
        if target is None:
            raise ValidationError(
                {"state": [_("No support pool above this one has an agent on duty for this type of question.")]}
            )
        groups = dict(HandlingGroup.objects.values_list("code", "id"))
        rotation = take_turns({(target.pk, locked.type)}, groups=groups, agents=agents)[(target.pk, locked.type)]
        agent = rotation.next()
        previous = locked.assignee_id
        from_pool_name = locked.pool_unit.name if locked.pool_unit_id else ""
        escalation, assigned = escalate_one(
            locked,
            target=target,
            agent=agent,
            now=now,
            acknowledge_minutes=sla_policy_for(locked.priority).acknowledge_minutes,
        )
        _save_turns([rotation])
        lines = [event(locked, actor=actor, kind=TicketEvent.Kind.ASSIGNED, data=assigned)] if assigned else []
        supervisors = selectors.supervisors_of(unit_ids=[target.pk]).get(target.pk, [])
        return Step(
            data=escalation | {"from_pool_name": from_pool_name},
            lines=lines,
            recipients=set(supervisors) | ({previous} if previous else set()),
        )

    return ticket_transition(
        ticket=ticket,
        actor=actor,
        action="forward",
        comment=reason,
        prepare=prepare,
        event_type=events.TICKET_FORWARDED,
    )


def ticket_merge(*, ticket: Ticket, actor: User, into: Ticket, reason: str = "") -> Ticket:
    """Merge a duplicate into ``into``: the duplicate closes as merged with a link to it, both
    timelines say so, and both tickets' askers and handlers are told. Nothing moves: the duplicate's
    messages and files stay on it, readable as before.

    The rule: the actor handles the duplicate or supervises it, may act on the target too (staff of
    it), the target is open and another ticket, and both come from the same asker or the same unit
    (the same people's problem; merging across schools would hide one school's question in another's).
    """
    reason = _reason(reason, required=False)
    _require_handler_or_supervisor(ticket, actor)
    if into.pk == ticket.pk:
        raise ValidationError({"into": [_("A ticket cannot be merged into itself.")]})
    if not selectors.ticket_capabilities(user=actor, ticket=into) & selectors.STAFF_CAPABILITIES:
        raise ValidationError({"into": [_("You can merge only into a ticket you support.")]})
    if into.asker_id != ticket.asker_id and into.unit_id != ticket.unit_id:
        raise ValidationError({"into": [_("Merge only tickets of the same asker or the same unit.")]})

    with transaction.atomic():
        # Both rows, in id order, so two merges of the same pair the other way round cannot deadlock.
        locked = {
            t.pk: t for t in Ticket.objects.select_for_update().filter(pk__in=[ticket.pk, into.pk]).order_by("pk")
        }
        target = locked[into.pk]
        if target.state in selectors.FINAL_STATES:
            raise ValidationError({"into": [_("The ticket to merge into is closed.")]})

        def prepare(duplicate: Ticket) -> Step:
            _require_handler_or_supervisor(duplicate, actor)
            return Step(
                changes={"close_reason": CloseReason.MERGED, "merged_into": target},
                data={"merged_into_number": target.number},
                recipients={target.asker_id} | ({target.assignee_id} if target.assignee_id else set()),
                payload=events.merged_payload(duplicate, target),
            )

        duplicate = ticket_transition(
            ticket=ticket,
            actor=actor,
            action="merge",
            comment=reason,
            prepare=prepare,
            event_type=events.TICKET_MERGED,
            same_outcome=lambda merged: merged.merged_into_id == target.pk,
        )
        if getattr(duplicate, "already_done", False):  # a retry: both timelines say it already
            return duplicate
        _record(
            target,
            actor=actor,
            kind=TicketEvent.Kind.MERGE_RECEIVED,
            comment=reason,
            data={"duplicate": duplicate.pk, "duplicate_number": duplicate.number},
        )
        # The target changed too (its timeline): its page refreshes as any ticket's does.
        notify_ticket(target, extra={actor.pk})
    return duplicate
