"""Writes to tickets. This first part holds numbering, creation and the one transition table;
routing, SLA deadlines, review and rating build on ``ticket_transition``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import HandlingGroup, Role, RoleAssignment, User
from helpdesk.events import send_event
from orgtree.models import OrgUnit

from .models import PoolTurn, Priority, SLAPolicy, Ticket, TicketDayCounter, TicketEvent, TicketState, TicketType
from .working_time import compute_deadline, default_schedule, load_calendar, working_minutes_between

S = TicketState

# action → (states it may start from, state it leads to). Every state change goes through here.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "accept": (frozenset({S.NEW}), S.IN_PROGRESS),
    "request_info": (frozenset({S.IN_PROGRESS}), S.WAITING_ASKER),
    "provide_info": (frozenset({S.WAITING_ASKER}), S.IN_PROGRESS),
    "submit_answer": (frozenset({S.IN_PROGRESS}), S.PENDING_REVIEW),
    "approve": (frozenset({S.PENDING_REVIEW}), S.ANSWERED),
    "reject": (frozenset({S.PENDING_REVIEW}), S.IN_PROGRESS),
    "confirm": (frozenset({S.ANSWERED}), S.RESOLVED),
    "reopen": (frozenset({S.ANSWERED, S.RESOLVED}), S.IN_PROGRESS),
    "close": (frozenset({S.RESOLVED}), S.CLOSED),
}
EVENT_FOR_ACTION = {
    "accept": TicketEvent.Kind.ACCEPTED,
    "request_info": TicketEvent.Kind.INFO_REQUESTED,
    "provide_info": TicketEvent.Kind.INFO_PROVIDED,
    "submit_answer": TicketEvent.Kind.ANSWERED,
    "approve": TicketEvent.Kind.REVIEWED,
    "reject": TicketEvent.Kind.REJECTED,
    "confirm": TicketEvent.Kind.CONFIRMED,
    "reopen": TicketEvent.Kind.REOPENED,
    "close": TicketEvent.Kind.CLOSED,
}


def ticket_number_for(day: date, serial: int) -> str:
    """``TS`` + date + daily serial of at least three digits: ``TS20231027001``."""
    return f"TS{day:%Y%m%d}{serial:03d}"


def _next_serial(day: date) -> int:
    """Take the day's next serial under a row lock. Must run inside the creating transaction, so a
    create that rolls back gives its serial back and the day's numbers stay gap-free."""
    TicketDayCounter.objects.bulk_create([TicketDayCounter(day=day)], ignore_conflicts=True)
    counter = TicketDayCounter.objects.select_for_update().get(day=day)
    counter.last_serial += 1
    counter.save(update_fields=["last_serial"])
    return counter.last_serial


def _record(ticket: Ticket, *, actor: User | None, kind: str, from_state: str = "", to_state: str = "",
            comment: str = "", data: dict[str, Any] | None = None) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket, actor=actor, kind=kind, from_state=from_state, to_state=to_state,
        comment=comment, data=data or {},
    )


def ticket_create(
    *,
    asker: User,
    title: str,
    description: str,
    type: str,
    priority: str = Priority.P3,
    contact_name: str = "",
    contact_info: str = "",
) -> Ticket:
    """问题咨询: file a question for the asker's unit."""
    if asker.unit_id is None:
        raise ValidationError({"unit": [_("Your account belongs to no unit; ask your administrator.")]})
    ticket = Ticket(
        asker=asker,
        unit_id=asker.unit_id,
        title=(title or "").strip(),
        description=(description or "").strip(),
        type=type,
        priority=priority,
        contact_name=(contact_name or asker.name or asker.username).strip(),
        contact_info=(contact_info or asker.phone or asker.email).strip(),
        number="pending",
    )
    ticket.full_clean(exclude=["number", "pool_unit", "assignee"])
    if type not in TicketType.values:
        raise ValidationError({"type": [_("Choose a valid type.")]})
    with transaction.atomic():
        today = timezone.localdate()
        ticket.number = ticket_number_for(today, _next_serial(today))
        ticket.save()
        ticket_compute_deadlines(ticket=ticket)
        ticket.save(update_fields=["response_due_at", "resolution_due_at"])
        _record(ticket, actor=asker, kind=TicketEvent.Kind.CREATED, to_state=ticket.state,
                data={"priority": ticket.priority, "type": ticket.type})
        ticket_route(ticket=ticket)
        send_event(user_ids=[asker.pk], event_type="ticket.created", payload={"id": ticket.pk, "number": ticket.number})
    return ticket


def ticket_transition(
    *, ticket: Ticket, actor: User, action: str, comment: str = "", changes: dict[str, Any] | None = None
) -> Ticket:
    """Apply one action of the transition table under a row lock; refuse what the table does not allow.

    Two agents accepting at once: the second waits for the first's lock, then finds the ticket no
    longer new and is refused, so there is exactly one winner.
    """
    if action not in TRANSITIONS:
        raise ValidationError({"action": [_("Unknown action.")]})
    allowed_from, to_state = TRANSITIONS[action]
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.state not in allowed_from:
            raise ValidationError(
                {"state": [_("This action is not possible while the ticket is “%(state)s”.")
                           % {"state": locked.get_state_display()}]}
            )
        from_state = locked.state
        locked.state = to_state
        for name, value in (changes or {}).items():
            setattr(locked, name, value)
        _apply_clock_effects(locked, action=action, now=timezone.now())
        locked.save()
        _record(locked, actor=actor, kind=EVENT_FOR_ACTION[action], from_state=from_state, to_state=to_state,
                comment=comment, data={k: str(v.pk if hasattr(v, "pk") else v) for k, v in (changes or {}).items()})
        recipients = {locked.asker_id, actor.pk} | ({locked.assignee_id} if locked.assignee_id else set())
        send_event(
            user_ids=recipients,
            event_type="ticket.updated",
            payload={"id": locked.pk, "number": locked.number, "state": locked.state},
        )
    return locked


def _is_agent_for(agent: User, ticket: Ticket) -> bool:
    """An on-duty support agent of the ticket's unit or of a unit above it."""
    unit_path = ticket.unit.path
    paths = RoleAssignment.objects.filter(user=agent, role=Role.SUPPORT_AGENT).values_list("unit__path", flat=True)
    return any(unit_path.startswith(path) for path in paths)


def ticket_accept(*, ticket: Ticket, agent: User) -> Ticket:
    """The handling agent confirms receipt (seed 004: within 1 hour) and becomes the handler."""
    if ticket.assignee_id not in (None, agent.pk):
        raise ValidationError({"agent": [_("This ticket is assigned to another agent.")]})
    if not _is_agent_for(agent, ticket):
        raise ValidationError({"agent": [_("Only a support agent of this unit or a unit above it can accept.")]})
    return ticket_transition(ticket=ticket, actor=agent, action="accept", changes={"assignee": agent})


# --- 分级轮巡 routing -----------------------------------------------------------------------------
# Which handling group serves each type of question (seed 004, step 3).
GROUP_FOR_TYPE = {
    TicketType.HARDWARE: "hardware",
    TicketType.SOFTWARE: "software",
    TicketType.CONSULTATION: "training",
    TicketType.COMPLAINT: "complaints",
}


def _ancestor_paths(path: str) -> list[str]:
    """``path`` and the paths of every unit above it, nearest first."""
    step = OrgUnit.steplen
    return [path[:length] for length in range(len(path), 0, -step)]


def find_pool(*, unit: OrgUnit, ticket_type: str, above: bool = False) -> OrgUnit | None:
    """The nearest unit, from ``unit`` (or from its parent, with ``above``) up to the root, that has
    on-duty agents for the ticket type's handling group. One indexed query over the ancestors."""
    paths = _ancestor_paths(unit.path)[1 if above else 0 :]
    if not paths:
        return None
    pool_path = (
        RoleAssignment.objects.filter(
            role=Role.SUPPORT_AGENT,
            on_duty=True,
            user__is_active=True,
            handling_groups__code=GROUP_FOR_TYPE[ticket_type],
            unit__path__in=paths,
        )
        .order_by("-unit__depth")
        .values_list("unit__path", flat=True)
        .first()
    )
    return OrgUnit.objects.get(path=pool_path) if pool_path else None


def next_agent_in_pool(*, pool: OrgUnit, ticket_type: str) -> User | None:
    """Round robin over the pool's on-duty agents (by id), skipping the absent; the turn is persisted."""
    group = HandlingGroup.objects.get(code=GROUP_FOR_TYPE[ticket_type])
    PoolTurn.objects.bulk_create([PoolTurn(unit=pool, group=group)], ignore_conflicts=True)
    turn = PoolTurn.objects.select_for_update().get(unit=pool, group=group)
    on_duty = User.objects.filter(
        is_active=True,
        roles__unit=pool,
        roles__role=Role.SUPPORT_AGENT,
        roles__on_duty=True,
        roles__handling_groups=group,
    ).order_by("id")
    agent = None
    if turn.last_agent_id is not None:
        agent = on_duty.filter(id__gt=turn.last_agent_id).first()
    agent = agent or on_duty.first()
    if agent is not None:
        turn.last_agent = agent
        turn.save(update_fields=["last_agent"])
    return agent


def ticket_route(*, ticket: Ticket, above: bool = False, actor: User | None = None) -> Ticket:
    """Put the ticket in the nearest pool that serves its type and assign the agent whose turn it is.

    Called inside the creating (or escalating) transaction. With no pool anywhere above, the
    ticket stays unassigned and the timeline says so.
    """
    start = ticket.pool_unit if above and ticket.pool_unit_id else ticket.unit
    pool = find_pool(unit=start, ticket_type=ticket.type, above=above)
    if pool is None:
        _record(ticket, actor=actor, kind=TicketEvent.Kind.ROUTED, data={"pool": None})
        return ticket
    agent = next_agent_in_pool(pool=pool, ticket_type=ticket.type)
    ticket.pool_unit, ticket.assignee = pool, agent
    if agent is not None:
        # Seed 004: the handler confirms receipt within the policy's time (1 hour).
        ticket.ack_due_at = timezone.now() + timedelta(minutes=sla_policy_for(ticket.priority).acknowledge_minutes)
    ticket.save(update_fields=["pool_unit", "assignee", "ack_due_at", "updated_at"])
    _record(ticket, actor=actor, kind=TicketEvent.Kind.ROUTED, data={"pool": pool.pk, "pool_name": pool.name})
    if agent is not None:
        _record(ticket, actor=actor, kind=TicketEvent.Kind.ASSIGNED, data={"assignee": agent.pk})
        send_event(
            user_ids=[agent.pk], event_type="ticket.assigned", payload={"id": ticket.pk, "number": ticket.number}
        )
    return ticket



# --- SLA clocks ---------------------------------------------------------------------------------
# Seed 004's targets (minutes, in working hours?) for a priority whose policy row is missing; the
# migration creates the rows, which administrators then tune.
DEFAULT_SLA = {
    Priority.P1: (120, False, 8 * 60, False),
    Priority.P2: (240, False, 24 * 60, False),
    Priority.P3: (480, True, 3 * 480, True),
    Priority.P4: (24 * 60, False, 5 * 24 * 60, False),
}


def sla_policy_for(priority: str) -> SLAPolicy:
    policy = SLAPolicy.objects.filter(priority=priority).first()
    if policy is None:
        response, response_wh, resolution, resolution_wh = DEFAULT_SLA[priority]
        policy = SLAPolicy(
            priority=priority, response_minutes=response, response_in_working_hours=response_wh,
            resolution_minutes=resolution, resolution_in_working_hours=resolution_wh,
        )
    return policy


def ticket_compute_deadlines(*, ticket: Ticket) -> Ticket:
    """Set the response and resolution deadlines from the priority's policy, the creation time and
    the time spent waiting on the asker. Called at creation, on a priority change and on resume."""
    policy = sla_policy_for(ticket.priority)

    def due(minutes: int, in_working_hours: bool) -> datetime:
        paused = ticket.paused_working_minutes if in_working_hours else ticket.paused_wall_minutes
        return compute_deadline(ticket.created_at, minutes + paused, in_working_hours=in_working_hours)

    if ticket.first_response_at is None:
        ticket.response_due_at = due(policy.response_minutes, policy.response_in_working_hours)
    if ticket.resolved_at is None:
        ticket.resolution_due_at = due(policy.resolution_minutes, policy.resolution_in_working_hours)
    return ticket


def _apply_clock_effects(ticket: Ticket, *, action: str, now: datetime) -> None:
    if action == "accept":
        ticket.accepted_at, ticket.ack_due_at = now, None
    elif action == "request_info":
        ticket.paused_at = now
        ticket.first_response_at = ticket.first_response_at or now
    elif action == "provide_info" and ticket.paused_at is not None:
        ticket.paused_wall_minutes += int((now - ticket.paused_at).total_seconds() // 60)
        overrides = load_calendar(timezone.localtime(ticket.paused_at).date(), timezone.localdate(now))
        ticket.paused_working_minutes += working_minutes_between(
            ticket.paused_at, now, schedule=default_schedule(), overrides=overrides
        )
        ticket.paused_at = None
        ticket_compute_deadlines(ticket=ticket)
    elif action == "approve":
        # The asker receives the answer: that is the handler's response if none came before.
        ticket.first_response_at = ticket.first_response_at or now
    elif action == "confirm":
        ticket.resolved_at = now
    elif action == "reopen":
        ticket.resolved_at = None
        ticket_compute_deadlines(ticket=ticket)
    elif action == "close":
        ticket.closed_at = now


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
        ticket_compute_deadlines(ticket=locked)
        locked.save(update_fields=["priority", "response_due_at", "resolution_due_at", "updated_at"])
        _record(locked, actor=agent, kind=TicketEvent.Kind.PRIORITY_CHANGED, comment=reason.strip(),
                data={"from": old, "to": priority})
    return locked


def ticket_sla(*, ticket: Ticket, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each target with its deadline, what is left (negative: overdue) and the time paused."""
    now = now or timezone.now()
    paused_now = int((now - ticket.paused_at).total_seconds() // 60) if ticket.paused_at else 0
    rows = []
    for target, due, met_at in (
        ("acknowledge", ticket.ack_due_at, ticket.accepted_at),
        ("first_response", ticket.response_due_at, ticket.first_response_at),
        ("resolution", ticket.resolution_due_at, ticket.resolved_at),
    ):
        if due is None:
            continue
        reference = met_at or (ticket.paused_at if ticket.paused_at else now)
        left: timedelta = due - reference
        rows.append({
            "target": target,
            "due_at": due,
            "met_at": met_at,
            "met": met_at is not None and met_at <= due,
            "seconds_left": int(left.total_seconds()),
            "overdue": left.total_seconds() < 0,
            "paused": ticket.paused_at is not None,
            "paused_minutes": ticket.paused_wall_minutes + paused_now,
        })
    return rows
