"""The SLA sweep Celery beat runs every minute (seed 004):

- an assignee who has not confirmed receipt in time (1 hour) → the ticket passes to the next agent;
- a deadline drawing near → the assignee and the pool's supervisors are warned, once, and never after
  the deadline;
- a deadline passed → the ticket escalates to the pool one level up, to the top of the tree; where it
  cannot (no pool above, or an answer waiting for review) the breach is recorded and the handler and
  the pool's supervisors are told, once.

It reads due tickets through a partial index on ``sla_check_at``, so its cost follows the tickets
that are due, not all open ones, and works in set-wise batches: a fixed handful of queries per
batch, not per ticket or pool. Every change it makes moves the ticket's ``sla_check_at`` past now in
the same transaction as its timeline lines, so a second run, or a rerun after a kill half way, finds
nothing left to do for what was done and does the rest once.

With a thousand tickets due (1% of the open ones, bench/bench_tickets.py) a run should take well
under a second, so a batch is handled as plain rows: only the columns the sweep reads, no model
instances (building a thousand 40-field tickets and their timeline lines cost more than the SQL),
and on PostgreSQL each write is one statement with the batch in one JSON or array parameter (a
placeholder per value made psycopg parse a statement of thousands client-side).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import services as account_services
from accounts.models import HandlingGroup, Role, RoleAssignment
from helpdesk.core.db import rows_with_native_timestamps
from helpdesk.core.events import send_events
from helpdesk.core.tombstones import record_removed_rows
from orgtree.models import OrgUnit

from .. import events, notifications, selectors, sql
from ..models import ESCALATION_CLOCK_FIELDS, Priority, SLAPolicy, Ticket, TicketEvent, TicketState
from ..working_time import DeadlineCalendar
from .routing import GROUP_FOR_TYPE, unit_ancestor_paths
from .sla import ESCALATING_STATES, refresh_sla_schedule, sla_policy_for

BATCH_SIZE = 1000

# What the sweep and refresh_sla_schedule read of a due ticket.
READ_FIELDS = (
    "id",
    "number",
    "title",
    "type",
    "priority",
    "state",
    "asker_id",
    "unit_path",
    "pool_unit_id",
    "assignee_id",
    "accepted_at",
    "ack_due_at",
    "response_due_at",
    "resolution_due_at",
    "first_response_at",
    "resolved_at",
    "paused_at",
    "next_due_at",
    *ESCALATION_CLOCK_FIELDS,
    "sla_check_at",
)
# What it may change, and so writes back (every column of a batch in one statement).
WRITE_FIELDS = (
    "state",
    "pool_unit_id",
    "assignee_id",
    "accepted_at",
    "ack_due_at",
    "next_due_at",
    *ESCALATION_CLOCK_FIELDS,
    "sla_check_at",
    "updated_at",
)


class DueTicket:
    """A due ticket's SLA columns, read and written by attribute like a ``Ticket`` (so
    ``refresh_sla_schedule`` serves both) but without a model instance's cost."""

    __slots__ = (*READ_FIELDS, "pool_path", "updated_at")

    def __init__(self, row: tuple) -> None:
        *values, self.pool_path = row
        for name, value in zip(READ_FIELDS, values, strict=True):
            setattr(self, name, value)

    @property
    def pk(self) -> int:
        return self.id


class Agent(NamedTuple):
    pk: int
    label: str  # as the timeline shows them: the name, else the account


class Pool(NamedTuple):
    pk: int
    name: str


# (ticket id, kind, from state, to state, data): a timeline line of the sweep (no actor, no comment).
Line = tuple[int, str, str, str, dict[str, Any]]


def sla_sweep(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Process every ticket whose SLA needs attention at ``now``; returns what it did."""
    now = now or timezone.now()
    counts: Counter[str] = Counter()
    policies = {priority: sla_policy_for(priority) for priority in Priority.values}
    calendar = DeadlineCalendar()
    groups: dict[str, int] = {}
    done: set[int] = set()
    after: tuple[datetime, int] | None = None
    while True:
        with transaction.atomic():
            due = _lock_due(now=now, after=after, batch_size=batch_size)
            if not due:
                break
            # Batches follow (sla_check_at, id), so each starts after the last one: a ticket whose row
            # lock was skipped is left for the next run, one already handled is not taken again.
            after = (due[-1].sla_check_at, due[-1].id)
            due = [ticket for ticket in due if ticket.id not in done]
            if due:
                groups = groups or dict(HandlingGroup.objects.values_list("code", "id"))
                counts.update(_sweep_batch(due, now=now, policies=policies, calendar=calendar, groups=groups))
                done.update(ticket.id for ticket in due)
    return dict(counts)


def _lock_due(*, now: datetime, after: tuple[datetime, int] | None, batch_size: int) -> list[DueTicket]:
    """The next batch of due tickets, row-locked, with their pool's path."""
    due = Ticket.objects.filter(sla_check_at__lte=now)
    if after is not None:
        moment, ticket_id = after
        due = due.filter(
            Q(sla_check_at__gt=moment) | Q(sla_check_at=moment, id__gt=ticket_id), sla_check_at__gte=moment
        )
    # SKIP LOCKED: a ticket an agent is changing right now is left for the next run.
    rows = (
        due.select_for_update(skip_locked=True, of=("self",))
        .order_by("sla_check_at", "id")
        .values_list(*READ_FIELDS, "pool_unit__path")[:batch_size]
    )
    return [DueTicket(row) for row in rows_with_native_timestamps(rows)]


def _sweep_batch(
    tickets: list[DueTicket],
    *,
    now: datetime,
    policies: dict[str, SLAPolicy],
    calendar: DeadlineCalendar,
    groups: dict[str, int],
) -> Counter[str]:
    counts: Counter[str] = Counter()
    lines: list[Line] = []
    # (kind, ticket id, user id or None): who lost the ticket from a list (helpdesk.core.tombstones).
    gone: list[tuple[str, int, int | None]] = []
    notices: list[tuple[DueTicket, str, set[int]]] = []

    escalating = [
        t for t in tickets if t.escalation_due_at and t.escalation_due_at <= now and t.state in ESCALATING_STATES
    ]
    escalating_ids = {t.id for t in escalating}
    unconfirmed = [
        t
        for t in tickets
        if t.id not in escalating_ids
        and t.state == TicketState.NEW
        and t.assignee_id
        and t.ack_due_at
        and t.ack_due_at <= now
    ]
    # A warning is for a deadline still ahead. One whose deadline has passed unwarned (the sweep ran
    # late) is spent, never sent after the fact: what happened is a breach. A ticket that escalates
    # says so itself; one that does not move (an answer waiting for review) gets a breach line.
    warned: list[DueTicket] = []
    breached: list[DueTicket] = []
    for t in tickets:
        if t.id in escalating_ids or not _warning_due(t, now):
            continue
        if _moot_warning(t, now, spend=True):
            if t.state not in ESCALATING_STATES:
                breached.append(t)
        else:
            warned.append(t)
    # Set-wise: one query reads the units above the escalating tickets, one the on-duty agents of
    # those and of the unconfirmed tickets' pools, one takes every pool's turn, one reads the
    # supervisors: the same few queries whatever the batch's spread.
    targets, agents = _pools_and_agents(escalating, unconfirmed)
    demand: set[tuple[int, str]] = set()
    for ticket in escalating:
        target = targets[(_start_path(ticket), ticket.type)]
        if target is not None:
            demand.add((target.pk, ticket.type))
    for ticket in unconfirmed:
        demand.add((ticket.pool_unit_id, ticket.type))
    rotations = take_turns(demand, groups=groups, agents=agents)
    supervisors = selectors.supervisors_of(
        unit_ids={t.pool_unit_id for t in tickets if t.pool_unit_id} | {pool_id for pool_id, _ in demand}
    )

    for ticket in escalating:
        target = targets[(_start_path(ticket), ticket.type)]
        if target is None:
            # No pool above has an agent for it: nothing moves, so the line is a breach, not an
            # escalation, and it says who was actually told (the pool's administrators, if it has
            # any, and the handler, if there is one), not more.
            ticket.escalation_exhausted = True
            told = set(supervisors.get(ticket.pool_unit_id, [])) if ticket.pool_unit_id else set()
            data = _breach_data(ticket, told) | {"at_top": True}
            lines.append((ticket.id, TicketEvent.Kind.SLA_BREACHED, "", "", data))
            notices.append((ticket, events.TICKET_SLA_BREACHED, told))
            counts["at_top"] += 1
            continue
        agent = rotations[(target.pk, ticket.type)].next()
        previous_assignee, from_state = ticket.assignee_id, ticket.state
        gone.extend(
            _left_lists(ticket, assignee=previous_assignee, pool=ticket.pool_unit_id, target=target.pk, agent=agent)
        )
        data, assigned = escalate_one(
            ticket,
            target=target,
            agent=agent,
            now=now,
            acknowledge_minutes=policies[ticket.priority].acknowledge_minutes,
        )
        lines.append((ticket.id, TicketEvent.Kind.ESCALATED, from_state, ticket.state, data))
        if assigned is not None:
            lines.append((ticket.id, TicketEvent.Kind.ASSIGNED, "", "", assigned))
        extra = set(supervisors.get(target.pk, [])) | ({previous_assignee} if previous_assignee else set())
        notices.append((ticket, events.TICKET_ESCALATED, extra))
        counts["escalated"] += 1

    # Not confirmed in time: the next agent of the same pool, round robin, never the same one.
    for ticket in unconfirmed:
        agent = rotations[(ticket.pool_unit_id, ticket.type)].next(avoid=ticket.assignee_id)
        ticket.ack_due_at = now + timedelta(minutes=policies[ticket.priority].acknowledge_minutes)
        if agent is None:
            # Nobody else is on duty: the assignee keeps it, with a new hour and a warning.
            notices.append((ticket, events.TICKET_SLA_WARNING, set(supervisors.get(ticket.pool_unit_id, []))))
            continue
        previous = ticket.assignee_id
        ticket.assignee_id = agent.pk
        if previous:
            gone.append((selectors.TOMBSTONE_KIND, ticket.id, previous))
        data = {"from": previous, "assignee": agent.pk, "assignee_name": agent.label, "reason": "not_confirmed"}
        lines.append((ticket.id, TicketEvent.Kind.REASSIGNED, "", "", data))
        notices.append((ticket, events.TICKET_ASSIGNED, {previous} if previous else set()))
        counts["reassigned"] += 1

    for ticket in breached:
        told = set(supervisors.get(ticket.pool_unit_id, [])) if ticket.pool_unit_id else set()
        data = _breach_data(ticket, told) | {"in_review": True}
        lines.append((ticket.id, TicketEvent.Kind.SLA_BREACHED, "", "", data))
        notices.append((ticket, events.TICKET_SLA_BREACHED, told))
        counts["breached"] += 1

    for ticket in warned:
        ticket.warned_at = now
        target = "first_response" if ticket.first_response_at is None else "resolution"
        due_at = (ticket.escalation_due_at or ticket.next_due_at).isoformat()
        lines.append((ticket.id, TicketEvent.Kind.SLA_WARNING, "", "", {"target": target, "due_at": due_at}))
        notices.append((ticket, events.TICKET_SLA_WARNING, set(supervisors.get(ticket.pool_unit_id, []))))
        counts["warned"] += 1

    # Stamped when written, not with the run's start: a run of many batches commits each one later,
    # and a delta sync trusts a row's updated_at to be at most a few seconds older than its commit.
    # (Never before the run's ``now``, which a test may set ahead.)
    stamped = max(now, timezone.now())
    for ticket in tickets:
        refresh_sla_schedule(ticket, policy=policies[ticket.priority], calendar=calendar)
        # A breach with no pool above leaves the clock on the passed deadline, whose warning the
        # refresh would schedule again (for now): spent, so none follows the breach.
        if _moot_warning(ticket, now, spend=True):
            refresh_sla_schedule(ticket, policy=policies[ticket.priority], calendar=calendar)
        ticket.updated_at = stamped
    _save_turns(rotations.values())
    _save(tickets)
    _insert_lines(lines)
    record_removed_rows(gone, at=stamped)
    outgoing = []
    drafts = []
    for ticket, event_type, extra in notices:
        recipients = {ticket.asker_id} if event_type == events.TICKET_ESCALATED else set()
        recipients |= extra | ({ticket.assignee_id} if ticket.assignee_id else set())
        outgoing.append((recipients, event_type, events.ticket_payload(ticket)))
        drafts.extend(notifications.drafts_for(event_type, ticket, recipients=recipients))
    account_services.notify(drafts)
    send_events(outgoing)
    counts["checked"] += len(tickets)
    return counts


def _left_lists(
    ticket: DueTicket, *, assignee: int | None, pool: int | None, target: int, agent: Agent | None
) -> list[tuple[str, int, int | None]]:
    """Tombstones of an escalation: the previous handler's assigned list and the old pool's lists
    lose the ticket without a change they could see (helpdesk.core.api.delta)."""
    rows: list[tuple[str, int, int | None]] = []
    if assignee and assignee != (agent.pk if agent else None):
        rows.append((selectors.TOMBSTONE_KIND, ticket.id, assignee))
    if pool and pool != target:
        rows.append((selectors.pool_tombstone_kind(pool), ticket.id, None))
    return rows


def _breach_data(ticket: DueTicket, told: set[int]) -> dict[str, Any]:
    """A breach line's data: where it happened and who was told (the timeline says no more than that:
    the pool's administrators, counted, and whether the ticket had a handler to tell)."""
    return {
        "pool": ticket.pool_unit_id,
        "level": ticket.escalation_level,
        "supervisors": len(told),
        "handler": ticket.assignee_id is not None,
    }


def _warning_due(ticket: DueTicket, now: datetime) -> bool:
    return bool(ticket.warn_at and ticket.warned_at is None and ticket.warn_at <= now and ticket.next_due_at)


def _moot_warning(ticket: DueTicket, now: datetime, *, spend: bool) -> bool:
    """Whether the ticket's pending warning is for a deadline that has already passed at ``now``
    (a pre-deadline warning after the breach would be false); with ``spend``, mark it given."""
    if not (ticket.warn_at and ticket.warned_at is None and ticket.warn_at <= now):
        return False
    deadline = ticket.escalation_due_at or ticket.next_due_at
    if deadline is not None and deadline > now:
        return False
    if spend:
        ticket.warned_at = now
    return True


def escalate_one(
    ticket: DueTicket | Ticket, *, target: Pool, agent: Agent | None, now: datetime, acknowledge_minutes: int
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Move one ticket to ``target``, the pool above, and its next agent: the one rule for a breach's
    escalation and for 上报 by hand (services.actions.ticket_forward). The new pool's agent must
    confirm receipt again (a new hour), and ``escalated_at`` gives that pool a fresh window of the
    current target (refresh_sla_schedule); the response and resolution deadlines themselves stay.
    Returns the data of the escalation's timeline line and of the assignment's (None without agent)."""
    previous_pool = ticket.pool_unit_id
    ticket.state = TicketState.NEW
    ticket.pool_unit_id = target.pk
    ticket.assignee_id = agent.pk if agent else None
    ticket.escalation_level += 1
    ticket.escalated_at = now
    ticket.accepted_at = None
    ticket.ack_due_at = now + timedelta(minutes=acknowledge_minutes) if agent else None
    escalation = {
        "from_pool": previous_pool,
        "pool": target.pk,
        "pool_name": target.name,
        "level": ticket.escalation_level,
    }
    assigned = {"assignee": agent.pk, "assignee_name": agent.label} if agent is not None else None
    return escalation, assigned


def _columns(names: Iterable[str]) -> list[models.Field]:
    return [Ticket._meta.get_field(name.removesuffix("_id")) for name in names]


def _json_rows(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, default=datetime.isoformat)


def _save(tickets: list[DueTicket]) -> None:
    """Write the sweep's columns back in one statement per batch. Django's bulk_update builds a CASE
    per field and row, which cost seconds at a thousand tickets."""
    fields = _columns(WRITE_FIELDS)
    if connection.vendor == "postgresql":
        # The batch as one JSON parameter: psycopg adapts a list per value in Python, and a
        # placeholder per value costs its client-side parse of the statement.
        rows = [{"id": t.id} | {f.column: getattr(t, f.attname) for f in fields} for t in tickets]
        with connection.cursor() as cursor:
            cursor.execute(sql.update_tickets_from_json_sql(fields, connection), [_json_rows(rows)])
        return
    rows = [
        [field.get_db_prep_save(getattr(ticket, field.attname), connection) for field in fields] + [ticket.id]
        for ticket in tickets
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql.update_ticket_sql(fields, connection), rows)


def _insert_lines(lines: list[Line]) -> None:
    """The batch's timeline lines in one INSERT (no actor, no comment; created now, as auto_now_add
    would), without building a TicketEvent per line."""
    if not lines:
        return
    created_at = timezone.now()
    if connection.vendor == "postgresql":
        rows = [{"t": t, "k": k, "f": f, "s": s, "d": d} for t, k, f, s, d in lines]
        with connection.cursor() as cursor:
            cursor.execute(sql.INSERT_LINES_FROM_JSON_SQL, [created_at, _json_rows(rows)])
        return
    data_field = TicketEvent._meta.get_field("data")
    created = TicketEvent._meta.get_field("created_at").get_db_prep_save(created_at, connection)
    rows = [
        (ticket_id, kind, from_state, to_state, data_field.get_db_prep_save(data, connection), created)
        for ticket_id, kind, from_state, to_state, data in lines
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql.INSERT_LINE_SQL, rows)


class _Rotation:
    """One pool's round robin for a batch: agents by id, starting after the last one served."""

    def __init__(self, turn_id: int | None, last_agent_id: int | None, agents: list[Agent]) -> None:
        self.turn_id, self.agents = turn_id, agents
        after = [i for i, agent in enumerate(agents) if last_agent_id is not None and agent.pk > last_agent_id]
        self.position = after[0] if after else 0
        self.last: Agent | None = None

    def next(self, avoid: int | None = None) -> Agent | None:
        for step in range(len(self.agents)):
            agent = self.agents[(self.position + step) % len(self.agents)]
            if agent.pk != avoid:
                self.position = (self.position + step + 1) % len(self.agents)
                self.last = agent
                return agent
        return None


def _save_turns(rotations: Iterable[_Rotation]) -> None:
    rows = [(r.last.pk, r.turn_id) for r in rotations if r.turn_id is not None and r.last is not None]
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                sql.SAVE_TURNS_FROM_ARRAYS_SQL,
                [[agent_id for agent_id, _ in rows], [turn_id for _, turn_id in rows]],
            )
        else:
            cursor.executemany(sql.SAVE_TURN_SQL, rows)


def take_turns(
    demand: set[tuple[int, str]], *, groups: dict[str, int], agents: dict[tuple[int, str], list[Agent]]
) -> dict[tuple[int, str], _Rotation]:
    """Lock the turn rows of many (pool, type) pairs in one upsert (in a fixed order, so two sweeps
    cannot deadlock). ``groups``: handling group ids by code; ``agents``: the on-duty agents by
    (unit, group code), by id."""
    if not demand:
        return {}
    keys = sorted(demand)
    pairs = sorted({(pool_id, groups[GROUP_FOR_TYPE[t]]) for pool_id, t in keys if GROUP_FOR_TYPE[t] in groups})
    turns: dict[tuple[int, int], tuple[int, int | None]] = {}
    if pairs:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # ORDER BY: the rows are locked in this order.
                cursor.execute(
                    sql.TAKE_TURNS_FROM_ARRAYS_SQL,
                    [[unit_id for unit_id, _ in pairs], [group_id for _, group_id in pairs]],
                )
            else:
                cursor.execute(sql.take_turns_sql(len(pairs)), [value for pair in pairs for value in pair])
            for turn_id, unit_id, group_id, last_agent_id in cursor.fetchall():
                turns[(unit_id, group_id)] = (turn_id, last_agent_id)
    rotations = {}
    for pool_id, ticket_type in keys:
        code = GROUP_FOR_TYPE[ticket_type]
        turn_id, last_agent_id = turns.get((pool_id, groups.get(code)), (None, None))
        rotations[(pool_id, ticket_type)] = _Rotation(turn_id, last_agent_id, agents.get((pool_id, code), []))
    return rotations


def _start_path(ticket: DueTicket) -> str:
    # A ticket that never found a pool starts again from its own unit (its path is on the ticket).
    return ticket.pool_path if ticket.pool_unit_id else ticket.unit_path


def _pools_and_agents(
    escalating: list[DueTicket], unconfirmed: list[DueTicket]
) -> tuple[dict[tuple[str, str], Pool | None], dict[tuple[int, str], list[Agent]]]:
    """The pool each escalating (current pool, type) moves to, the nearest unit above with an on-duty
    agent of the type's group (a ticket that never found a pool looks again from its own unit, in
    case agents have come on duty since); and the on-duty agents, by (unit, group code) and id, of
    those units and of the unconfirmed tickets' pools."""
    wanted: dict[tuple[str, str], list[str]] = {}
    for ticket in escalating:
        start = _start_path(ticket)
        key = (start, ticket.type)
        if key not in wanted:
            wanted[key] = unit_ancestor_paths(start)[1 if ticket.pool_unit_id is not None else 0 :]
    units: dict[str, Pool] = {}
    if wanted:
        # By path first: joined to the role assignments, the planner scanned every unit's row.
        paths = {path for paths in wanted.values() for path in paths}
        units = {
            path: Pool(pk, name)
            for pk, path, name in OrgUnit.objects.filter(path__in=paths).values_list("id", "path", "name")
        }
    unit_ids = {unit.pk for unit in units.values()} | {t.pool_unit_id for t in unconfirmed if t.pool_unit_id}
    agents: dict[tuple[int, str], list[Agent]] = defaultdict(list)
    if unit_ids:
        rows = (
            RoleAssignment.objects.filter(
                role=Role.SUPPORT_AGENT,
                on_duty=True,
                user__is_active=True,
                unit_id__in=unit_ids,
                handling_groups__code__in={GROUP_FOR_TYPE[t.type] for t in [*escalating, *unconfirmed]},
            )
            .values_list("unit_id", "handling_groups__code", "user_id", "user__name", "user__username")
            .order_by("user_id")
        )
        for unit_id, code, user_id, name, username in rows:
            agents[(unit_id, code)].append(Agent(user_id, name or username))
    targets: dict[tuple[str, str], Pool | None] = {}
    for (start_path, ticket_type), paths in wanted.items():
        code = GROUP_FOR_TYPE[ticket_type]
        targets[(start_path, ticket_type)] = next(
            (units[path] for path in paths if path in units and agents.get((units[path].pk, code))), None
        )
    return targets, agents
