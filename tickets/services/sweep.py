"""The SLA sweep Celery beat runs every minute (seed 004):

- an assignee who has not confirmed receipt in time (1 hour) → the ticket passes to the next agent;
- a deadline drawing near → the assignee and the pool's supervisors are warned, once;
- a deadline passed → the ticket escalates to the pool one level up, to the top of the tree.

It reads due tickets through a partial index on ``sla_check_at``, so its cost follows the tickets
that are due, not all open ones, and works in set-wise batches: a handful of queries per pool and
batch, not per ticket. Every change it makes moves the ticket's ``sla_check_at`` past now in the
same transaction as its timeline lines, so a second run, or a rerun after a kill half way, finds
nothing left to do for what was done and does the rest once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from helpdesk.events import send_event
from orgtree.models import OrgUnit

from .. import selectors
from ..models import Priority, SLAPolicy, Ticket, TicketEvent, TicketState
from ..working_time import DeadlineCalendar
from .core import event, find_pool, next_agents_in_pool
from .sla import ESCALATING_STATES, SLA_FIELDS, refresh_sla_schedule, sla_policy_for

BATCH_SIZE = 500
SWEEP_FIELDS = [
    *SLA_FIELDS,
    "state",
    "pool_unit",
    "assignee",
    "escalation_level",
    "escalated_at",
    "escalation_exhausted",
    "updated_at",
]


def sla_sweep(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Process every ticket whose SLA needs attention at ``now``; returns what it did."""
    now = now or timezone.now()
    counts: Counter[str] = Counter()
    policies = {priority: sla_policy_for(priority) for priority in Priority.values}
    calendar = DeadlineCalendar()
    done: set[int] = set()
    while True:
        with transaction.atomic():
            # SKIP LOCKED: a ticket an agent is changing right now is left for the next run.
            due = list(
                Ticket.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(sla_check_at__lte=now)
                .exclude(pk__in=done)
                .select_related("pool_unit", "unit")
                .order_by("sla_check_at", "id")[:batch_size]
            )
            if not due:
                break
            counts.update(_sweep_batch(due, now=now, policies=policies, calendar=calendar))
            done.update(ticket.pk for ticket in due)
    return dict(counts)


def _sweep_batch(
    tickets: list[Ticket], *, now: datetime, policies: dict[str, SLAPolicy], calendar: DeadlineCalendar
) -> Counter[str]:
    counts: Counter[str] = Counter()
    lines: list[TicketEvent] = []
    notices: list[tuple[Ticket, str, set[int]]] = []

    escalating = [
        t for t in tickets if t.escalation_due_at and t.escalation_due_at <= now and t.state in ESCALATING_STATES
    ]
    escalating_ids = {t.pk for t in escalating}
    unconfirmed = [
        t
        for t in tickets
        if t.pk not in escalating_ids
        and t.state == TicketState.NEW
        and t.assignee_id
        and t.ack_due_at
        and t.ack_due_at <= now
    ]
    warned = [
        t
        for t in tickets
        if t.pk not in escalating_ids
        and t.warn_at
        and t.warned_at is None
        and t.warn_at <= now
        and t.next_due_at is not None
    ]
    supervisors = selectors.supervisors_of(
        unit_ids={t.pool_unit_id for t in tickets if t.pool_unit_id}
        | {pool.pk for pool in _pools_above(escalating).values() if pool is not None}
    )

    # Escalation: one pool lookup and one round-robin step per (pool, type) group.
    pools_above = _pools_above(escalating)
    for (start_path, ticket_type), group in _grouped(escalating, key=lambda t: (_start(t).path, t.type)).items():
        target = pools_above[(start_path, ticket_type)]
        if target is None:
            for ticket in group:
                ticket.escalation_exhausted = True
                lines.append(
                    event(
                        ticket,
                        actor=None,
                        kind=TicketEvent.Kind.ESCALATED,
                        data={"at_top": True, "pool": ticket.pool_unit_id, "level": ticket.escalation_level},
                    )
                )
                notices.append((ticket, "ticket.sla_breached", set(supervisors.get(ticket.pool_unit_id, []))))
                counts["at_top"] += 1
            continue
        agents = next_agents_in_pool(pool=target, ticket_type=ticket_type, count=len(group))
        for ticket, agent in zip(group, agents, strict=True):
            previous_assignee, previous_pool = ticket.assignee_id, ticket.pool_unit_id
            from_state = ticket.state
            ticket.state = TicketState.NEW
            ticket.pool_unit, ticket.assignee = target, agent
            ticket.escalation_level += 1
            ticket.escalated_at = now
            ticket.accepted_at = None  # the new pool's agent must confirm receipt again
            ticket.ack_due_at = (
                now + timedelta(minutes=policies[ticket.priority].acknowledge_minutes) if agent else None
            )
            lines.append(
                event(
                    ticket,
                    actor=None,
                    kind=TicketEvent.Kind.ESCALATED,
                    from_state=from_state,
                    to_state=ticket.state,
                    data={
                        "from_pool": previous_pool,
                        "pool": target.pk,
                        "pool_name": target.name,
                        "level": ticket.escalation_level,
                    },
                )
            )
            if agent is not None:
                lines.append(
                    event(
                        ticket,
                        actor=None,
                        kind=TicketEvent.Kind.ASSIGNED,
                        data={"assignee": agent.pk, "assignee_name": agent.name or agent.username},
                    )
                )
            extra = set(supervisors.get(target.pk, [])) | ({previous_assignee} if previous_assignee else set())
            notices.append((ticket, "ticket.escalated", extra))
            counts["escalated"] += 1

    # Not confirmed in time: the next agent of the same pool, round robin, never the same one.
    for (pool_id, ticket_type), group in _grouped(unconfirmed, key=lambda t: (t.pool_unit_id, t.type)).items():
        pool = group[0].pool_unit
        rotation = next_agents_in_pool(pool=pool, ticket_type=ticket_type, count=len(group) + 1)
        candidates = [agent for agent in rotation if agent is not None]
        for index, ticket in enumerate(group):
            agent = next((a for a in candidates[index:] + candidates[:index] if a.pk != ticket.assignee_id), None)
            ticket.ack_due_at = now + timedelta(minutes=policies[ticket.priority].acknowledge_minutes)
            if agent is None:
                # Nobody else is on duty: the assignee keeps it, with a new hour and a warning.
                notices.append((ticket, "ticket.sla_warning", set(supervisors.get(pool_id, []))))
                continue
            previous = ticket.assignee_id
            ticket.assignee = agent
            lines.append(
                event(
                    ticket,
                    actor=None,
                    kind=TicketEvent.Kind.REASSIGNED,
                    data={
                        "from": previous,
                        "assignee": agent.pk,
                        "assignee_name": agent.name or agent.username,
                        "reason": "not_confirmed",
                    },
                )
            )
            notices.append((ticket, "ticket.assigned", {previous} if previous else set()))
            counts["reassigned"] += 1

    for ticket in warned:
        ticket.warned_at = now
        target = "first_response" if ticket.first_response_at is None else "resolution"
        lines.append(
            event(
                ticket,
                actor=None,
                kind=TicketEvent.Kind.SLA_WARNING,
                data={"target": target, "due_at": (ticket.escalation_due_at or ticket.next_due_at).isoformat()},
            )
        )
        notices.append((ticket, "ticket.sla_warning", set(supervisors.get(ticket.pool_unit_id, []))))
        counts["warned"] += 1

    for ticket in tickets:
        refresh_sla_schedule(ticket, policy=policies[ticket.priority], calendar=calendar)
        ticket.updated_at = now
    Ticket.objects.bulk_update(tickets, SWEEP_FIELDS)
    TicketEvent.objects.bulk_create(lines)
    for ticket, event_type, extra in notices:
        recipients = {ticket.asker_id} if event_type == "ticket.escalated" else set()
        recipients |= extra | ({ticket.assignee_id} if ticket.assignee_id else set())
        send_event(
            user_ids=recipients,
            event_type=event_type,
            payload={"id": ticket.pk, "number": ticket.number, "state": ticket.state},
        )
    counts["checked"] += len(tickets)
    return counts


def _start(ticket: Ticket) -> OrgUnit:
    return ticket.pool_unit or ticket.unit


def _grouped(tickets: list[Ticket], *, key) -> dict:
    groups: dict = defaultdict(list)
    for ticket in tickets:
        groups[key(ticket)].append(ticket)
    return groups


def _pools_above(tickets: list[Ticket]) -> dict[tuple[str, str], OrgUnit | None]:
    """The pool each (current pool, type) escalates to; a ticket that never found a pool looks
    again from its own unit, in case agents have come on duty since."""
    result: dict[tuple[str, str], OrgUnit | None] = {}
    for ticket in tickets:
        start = _start(ticket)
        key = (start.path, ticket.type)
        if key not in result:
            result[key] = find_pool(unit=start, ticket_type=ticket.type, above=ticket.pool_unit_id is not None)
    return result
