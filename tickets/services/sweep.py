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

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import HandlingGroup, Role, RoleAssignment, User
from helpdesk.events import send_events
from orgtree.models import OrgUnit

from .. import selectors
from ..models import Priority, SLAPolicy, Ticket, TicketEvent, TicketState
from ..working_time import DeadlineCalendar
from .core import GROUP_FOR_TYPE, ancestor_paths, event
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
                .order_by("sla_check_at", "id")[:batch_size]
            )
            if not due:
                break
            _attach_pools(due)
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
    # Set-wise: one query finds the pool above for every escalating ticket, one takes every pool's
    # turns, one reads the supervisors: the batch costs the same few queries whatever its spread.
    targets = _pools_above(escalating)
    demand: Counter[tuple[int, str]] = Counter()
    for ticket in escalating:
        target = targets[(_start_path(ticket), ticket.type)]
        if target is not None:
            demand[(target.pk, ticket.type)] += 1
    for ticket in unconfirmed:
        demand[(ticket.pool_unit_id, ticket.type)] += 1
    rotations = take_turns(demand, extra=1)
    supervisors = selectors.supervisors_of(
        unit_ids={t.pool_unit_id for t in tickets if t.pool_unit_id} | {pool_id for pool_id, _ in demand}
    )

    for ticket in escalating:
        target = targets[(_start_path(ticket), ticket.type)]
        if target is None:
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
        agent = rotations[(target.pk, ticket.type)].next()
        previous_assignee, previous_pool = ticket.assignee_id, ticket.pool_unit_id
        from_state = ticket.state
        ticket.state = TicketState.NEW
        ticket.pool_unit, ticket.assignee = target, agent
        ticket.escalation_level += 1
        ticket.escalated_at = now
        ticket.accepted_at = None  # the new pool's agent must confirm receipt again
        minutes = policies[ticket.priority].acknowledge_minutes
        ticket.ack_due_at = now + timedelta(minutes=minutes) if agent else None
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
    for ticket in unconfirmed:
        agent = rotations[(ticket.pool_unit_id, ticket.type)].next(avoid=ticket.assignee_id)
        ticket.ack_due_at = now + timedelta(minutes=policies[ticket.priority].acknowledge_minutes)
        if agent is None:
            # Nobody else is on duty: the assignee keeps it, with a new hour and a warning.
            notices.append((ticket, "ticket.sla_warning", set(supervisors.get(ticket.pool_unit_id, []))))
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
        due_at = (ticket.escalation_due_at or ticket.next_due_at).isoformat()
        lines.append(
            event(ticket, actor=None, kind=TicketEvent.Kind.SLA_WARNING, data={"target": target, "due_at": due_at})
        )
        notices.append((ticket, "ticket.sla_warning", set(supervisors.get(ticket.pool_unit_id, []))))
        counts["warned"] += 1

    for ticket in tickets:
        refresh_sla_schedule(ticket, policy=policies[ticket.priority], calendar=calendar)
        ticket.updated_at = now
    _save_turns(rotations.values())
    _save(tickets)
    TicketEvent.objects.bulk_create(lines)
    outgoing = []
    for ticket, event_type, extra in notices:
        recipients = {ticket.asker_id} if event_type == "ticket.escalated" else set()
        recipients |= extra | ({ticket.assignee_id} if ticket.assignee_id else set())
        outgoing.append((recipients, event_type, {"id": ticket.pk, "number": ticket.number, "state": ticket.state}))
    send_events(outgoing)
    counts["checked"] += len(tickets)
    return counts


def _save(tickets: list[Ticket]) -> None:
    """Write the sweep's fields back in one statement per batch (UPDATE … FROM VALUES on PostgreSQL);
    Django's bulk_update builds a CASE per field and row, which cost seconds at a thousand tickets."""
    fields = [Ticket._meta.get_field(name) for name in SWEEP_FIELDS]
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        # psycopg adapts these Python values (datetimes, ints, bools, strings) itself.
        casts = ["bigint"] + [field.db_type(connection) for field in fields]
        row = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
        columns = ", ".join(quote(field.column) for field in fields)
        assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in fields)
        params = [value for ticket in tickets for value in [ticket.pk, *(getattr(ticket, f.attname) for f in fields)]]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE tickets_ticket AS t SET {assignments} "  # noqa: S608 - model column names only
                f"FROM (VALUES {', '.join([row] * len(tickets))}) AS v(id, {columns}) WHERE t.id = v.id",
                params,
            )
        return
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    rows = [
        [field.get_db_prep_save(getattr(ticket, field.attname), connection) for field in fields] + [ticket.pk]
        for ticket in tickets
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE tickets_ticket SET {assignments} WHERE id = %s", rows)  # noqa: S608


class _Rotation:
    """One pool's round robin for a batch: agents by id, starting after the last one served."""

    def __init__(self, turn_id: int | None, last_agent_id: int | None, agents: list[User]) -> None:
        self.turn_id, self.agents = turn_id, agents
        after = [i for i, agent in enumerate(agents) if last_agent_id is not None and agent.pk > last_agent_id]
        self.position = after[0] if after else 0
        self.last: User | None = None

    def next(self, avoid: int | None = None) -> User | None:
        for step in range(len(self.agents)):
            agent = self.agents[(self.position + step) % len(self.agents)]
            if agent.pk != avoid:
                self.position = (self.position + step + 1) % len(self.agents)
                self.last = agent
                return agent
        return None


def _save_turns(rotations) -> None:
    rows = [(r.last.pk, r.turn_id) for r in rotations if r.turn_id is not None and r.last is not None]
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany("UPDATE tickets_poolturn SET last_agent_id = %s WHERE id = %s", rows)


def take_turns(demand: Counter[tuple[int, str]], extra: int = 0) -> dict[tuple[int, str], _Rotation]:
    """Lock the turn rows of many (pool, type) pairs in one upsert (in a fixed order, so two sweeps
    cannot deadlock) and read all their on-duty agents in one query."""
    if not demand:
        return {}
    keys = sorted(demand)
    codes = {ticket_type: GROUP_FOR_TYPE[ticket_type] for _, ticket_type in keys}
    groups = dict(HandlingGroup.objects.filter(code__in=set(codes.values())).values_list("code", "id"))
    pairs = sorted({(pool_id, groups[codes[t]]) for pool_id, t in keys if codes[t] in groups})
    turns: dict[tuple[int, int], tuple[int, int | None]] = {}
    if pairs:
        values = ", ".join(["(%s, %s)"] * len(pairs))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO tickets_poolturn (unit_id, group_id) VALUES {values} "  # noqa: S608 - placeholders
                "ON CONFLICT (unit_id, group_id) DO UPDATE SET unit_id = EXCLUDED.unit_id "
                "RETURNING id, unit_id, group_id, last_agent_id",
                [value for pair in pairs for value in pair],
            )
            for turn_id, unit_id, group_id, last_agent_id in cursor.fetchall():
                turns[(unit_id, group_id)] = (turn_id, last_agent_id)
    agents: dict[tuple[int, str], list[User]] = defaultdict(list)
    rows = (
        RoleAssignment.objects.filter(
            role=Role.SUPPORT_AGENT,
            on_duty=True,
            user__is_active=True,
            unit_id__in={pool_id for pool_id, _ in keys},
            handling_groups__code__in=set(codes.values()),
        )
        .values_list("unit_id", "handling_groups__code", "user_id", "user__name", "user__username")
        .order_by("user_id")
    )
    for unit_id, code, user_id, name, username in rows:
        agents[(unit_id, code)].append(User(pk=user_id, name=name, username=username))
    rotations = {}
    for pool_id, ticket_type in keys:
        code = codes[ticket_type]
        turn_id, last_agent_id = turns.get((pool_id, groups.get(code)), (None, None))
        rotations[(pool_id, ticket_type)] = _Rotation(turn_id, last_agent_id, agents[(pool_id, code)])
    return rotations


def _attach_pools(tickets: list[Ticket]) -> None:
    """The batch's pool units (path and name only) in one query, instead of a join per ticket row."""
    pools = OrgUnit.objects.only("id", "path", "name", "depth").in_bulk(
        {t.pool_unit_id for t in tickets if t.pool_unit_id}
    )
    for ticket in tickets:
        if ticket.pool_unit_id:
            ticket.pool_unit = pools[ticket.pool_unit_id]


def _start_path(ticket: Ticket) -> str:
    # A ticket that never found a pool starts again from its own unit (its path is on the ticket).
    return ticket.pool_unit.path if ticket.pool_unit_id else ticket.unit_path


def _pools_above(tickets: list[Ticket]) -> dict[tuple[str, str], OrgUnit | None]:
    """The pool each (current pool, type) escalates to, for the whole batch in one query; a ticket
    that never found a pool looks again from its own unit, in case agents have come on duty since."""
    wanted: dict[tuple[str, str], list[str]] = {}
    for ticket in tickets:
        start = _start_path(ticket)
        key = (start, ticket.type)
        if key not in wanted:
            wanted[key] = ancestor_paths(start)[1 if ticket.pool_unit_id is not None else 0 :]
    if not wanted:
        return {}
    serving: dict[tuple[str, str], OrgUnit] = {}
    rows = (
        RoleAssignment.objects.filter(
            role=Role.SUPPORT_AGENT,
            on_duty=True,
            user__is_active=True,
            unit__path__in={path for paths in wanted.values() for path in paths},
            handling_groups__code__in={GROUP_FOR_TYPE[t] for _, t in wanted},
        )
        .values_list("unit_id", "unit__path", "unit__name", "unit__depth", "handling_groups__code")
        .distinct()
    )
    for unit_id, path, name, depth, code in rows:
        serving[(path, code)] = OrgUnit(pk=unit_id, path=path, name=name, depth=depth)
    return {
        (start_path, ticket_type): next(
            (
                serving[(path, GROUP_FOR_TYPE[ticket_type])]
                for path in paths
                if (path, GROUP_FOR_TYPE[ticket_type]) in serving
            ),
            None,
        )
        for (start_path, ticket_type), paths in wanted.items()
    }
