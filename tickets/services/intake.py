"""问题咨询: filing a ticket. It is numbered ``TS`` + date + daily serial, gap-free, and routed to a pool
and an agent (routing.py) as it is written."""

from __future__ import annotations

import functools
import json
import re
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.core.db import fetch_prepared
from helpdesk.core.events import send_events
from helpdesk.core.search import search_text_for

from ..models import Priority, SLAPolicy, Ticket, TicketEvent, TicketSearch
from .core import event, ticket_number_for
from .routing import ROUTE_COLUMNS, assign_to_pool, route_ctes, route_params, routed_to
from .sla import refresh_sla_schedule, sla_policy_for, ticket_compute_deadlines


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
    """问题咨询: file a question for the asker's unit; it is routed to a pool and an agent at once."""
    if asker.unit_id is None:
        raise ValidationError({"unit": [_("Your account belongs to no unit; ask your administrator.")]})
    now = timezone.now()
    unit = asker.unit
    ticket = Ticket(
        asker=asker,
        unit=unit,
        title=(title or "").strip(),
        description=(description or "").strip(),
        type=type,
        priority=priority,
        contact_name=(contact_name or asker.name or asker.username).strip(),
        contact_info=(contact_info or asker.phone or asker.email).strip(),
        number="pending",
        created_at=now,
    )
    ticket.full_clean(exclude=["number", "pool_unit", "assignee", "unit_path", "unit", "asker"])
    ticket.unit_path = unit.path
    policy = sla_policy_for(ticket.priority)
    ticket_compute_deadlines(ticket=ticket, policy=policy)
    created = event(
        ticket,
        actor=asker,
        kind=TicketEvent.Kind.CREATED,
        to_state=ticket.state,
        data={"priority": ticket.priority, "type": ticket.type},
    )
    _write_routed_and_numbered(
        ticket,
        policy=policy,
        now=now,
        day=timezone.localdate(now),
        search_text=search_text_for(ticket.title, ticket.description),
        created=created,
    )
    payload = {"id": ticket.pk, "number": ticket.number, "state": ticket.state}
    outgoing = [([asker.pk], "ticket.created", payload)]
    if ticket.assignee_id:
        outgoing.append(([ticket.assignee_id], "ticket.assigned", payload))
    send_events(outgoing)
    return ticket


def _write_routed_and_numbered(
    ticket: Ticket, *, policy: SLAPolicy, now: datetime, day: date, search_text: str, created: TicketEvent
) -> None:
    """Route, number and write a new ticket with its search text and first timeline lines, atomically.

    The day's counter stays row-locked from taking the serial until the write commits (that is what
    keeps the numbers gap-free), so every create waits for the one before it there. On PostgreSQL
    all of it is one prepared statement that commits on its own, and the lock is held for the
    statement and its commit only, never for a round trip to this process. Elsewhere, the ORM in a
    transaction.
    """
    if connection.vendor == "postgresql":
        _write_in_one_statement(ticket, policy=policy, now=now, day=day, search_text=search_text, created=created)
    else:
        _write_step_by_step(ticket, policy=policy, now=now, day=day, search_text=search_text, created=created)


def _next_serial(day: date) -> int:
    """Take the day's next serial in one upsert, which row-locks the day's counter until the creating
    transaction ends: numbers are unique, and a create that rolls back gives its serial back."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tickets_ticketdaycounter (day, last_serial) VALUES (%s, 1) ON CONFLICT (day) "
            "DO UPDATE SET last_serial = tickets_ticketdaycounter.last_serial + 1 RETURNING last_serial",
            [day],
        )
        return cursor.fetchone()[0]


def _write_step_by_step(
    ticket: Ticket, *, policy: SLAPolicy, now: datetime, day: date, search_text: str, created: TicketEvent
) -> None:
    with transaction.atomic():
        lines = [created, *assign_to_pool(ticket, start=ticket.unit, above=False, actor=None, policy=policy, now=now)]
        refresh_sla_schedule(ticket, policy=policy)
        # As late as possible: the serial's lock is held until the commit.
        ticket.number = ticket_number_for(day, _next_serial(day))
        ticket.save(force_insert=True)
        TicketSearch.objects.create(ticket=ticket, text=search_text)
        TicketEvent.objects.bulk_create(lines)


def _write_in_one_statement(
    ticket: Ticket, *, policy: SLAPolicy, now: datetime, day: date, search_text: str, created: TicketEvent
) -> None:
    route = route_params(start_path=ticket.unit_path, ticket_type=ticket.type, above=False)
    # The statement picks the pool and agent, so the clocks that depend on whether an agent was
    # assigned come in both versions; the schedule's rules stay in refresh_sla_schedule.
    ack_due_at = now + timedelta(minutes=policy.acknowledge_minutes)
    check_unassigned = refresh_sla_schedule(ticket, policy=policy).sla_check_at
    ticket.assignee_id, ticket.ack_due_at = _ANY_AGENT, ack_due_at
    check_assigned = refresh_sla_schedule(ticket, policy=policy).sla_check_at
    ticket.assignee_id, ticket.ack_due_at = None, None

    params: list = list(route)
    params.append(day)
    record = {}
    for field, source in _ticket_insert_plan():
        if source == "record":
            record[field.column] = field.pre_save(ticket, True)
        elif source == "ack_due_at":
            params.append(ack_due_at)
        elif source == "sla_check_at":
            params += [check_unassigned, check_assigned]
    params += [
        f"TS{day:%Y%m%d}",
        json.dumps(record, default=_json_value),
        search_text,
        created.actor_id,
        created.kind,
        created.to_state,
        json.dumps(created.data),
        TicketEvent.Kind.ROUTED,
        TicketEvent.Kind.ASSIGNED,
    ]
    ticket.pk, ticket.number, *row = fetch_prepared(_create_sql(len(route) - 1), params)
    ticket._state.adding = False
    ticket._state.db = connection.alias
    routed_to(ticket, row if row[0] is not None else None)
    ticket.ack_due_at = ack_due_at if ticket.assignee_id else None
    ticket.sla_check_at = check_assigned if ticket.assignee_id else check_unassigned


# Stands for whichever agent the statement assigns: the schedule only asks whether there is one.
_ANY_AGENT = 0

# Columns the statement fills from its routing, with the SQL that does it.
_FROM_ROUTING = {
    "pool_unit_id": "routed.pool_id",
    "assignee_id": "routed.agent_id",
    "ack_due_at": "CASE WHEN routed.agent_id IS NOT NULL THEN %s::timestamptz END",
    "sla_check_at": "CASE WHEN routed.agent_id IS NULL THEN %s::timestamptz ELSE %s::timestamptz END",
}


def _json_value(value: Any) -> str:
    """Dates and times as ISO 8601 to the microsecond (PostgreSQL reads them back exactly); decimals,
    UUIDs and the like as text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _ticket_insert_fields() -> list:
    return [f for f in Ticket._meta.concrete_fields if not f.primary_key and f.attname != "number"]


@functools.cache
def _ticket_insert_plan() -> list[tuple[models.Field, str]]:
    """Each inserted field and where its value comes from: the ticket, sent in one JSON record (one
    parameter, where one per column would make the statement too long and too many-parametered for
    psycopg to cache its conversion), the routing, or the clocks computed for both routings."""

    def source(field: models.Field) -> str:
        if field.attname in ("ack_due_at", "sla_check_at"):
            return field.attname
        return "routing" if field.attname in _FROM_ROUTING else "record"

    return [(field, source(field)) for field in _ticket_insert_fields()]


@functools.cache
def _create_sql(depth: int) -> str:
    """The create's one statement: route (routing.py), take the day's serial, insert the ticket numbered
    ``TS`` + day + serial (at least three digits, as ``ticket_number_for``), its search text and its
    timeline: the asker's line, then the routing's lines as ``routing_lines`` writes them. ``serial``
    selects from ``routed``, so the pool's turn is always locked before the day's counter."""
    fields = _ticket_insert_fields()
    columns = ", ".join(f.column for f in fields)
    values = ", ".join(_FROM_ROUTING.get(f.attname, f.column) for f in fields)
    # Column names come from the model and every value is a bound parameter, typed: a prepared
    # statement's parameter types are fixed by its first call.
    return _compact(f"""
WITH {route_ctes(depth)},
routed AS (SELECT route.* FROM (VALUES (1)) AS one (row) LEFT JOIN route ON true),
serial AS (
    INSERT INTO tickets_ticketdaycounter (day, last_serial) SELECT %s::date, 1 FROM routed ON CONFLICT (day)
    DO UPDATE SET last_serial = tickets_ticketdaycounter.last_serial + 1 RETURNING last_serial
), new_ticket AS (
    INSERT INTO tickets_ticket ({columns}, number) SELECT {values},
        %s::text || CASE WHEN last_serial < 1000 THEN lpad(last_serial::text, 3, '0') ELSE last_serial::text END
    FROM routed, serial, jsonb_populate_record(NULL::tickets_ticket, %s::jsonb) AS given
    RETURNING id, number, created_at
), search AS (
    INSERT INTO tickets_ticketsearch (ticket_id, text) SELECT id, %s::text FROM new_ticket
), lines AS (
    SELECT 1 AS position, %s::bigint AS actor_id, %s::text AS kind, %s::text AS to_state, %s::jsonb AS data
    UNION ALL
    SELECT 2, NULL, %s::text, '', CASE WHEN pool_id IS NULL THEN jsonb_build_object('pool', NULL)
        ELSE jsonb_build_object('pool', pool_id, 'pool_name', pool_name) END FROM routed
    UNION ALL
    SELECT 3, NULL, %s::text, '', jsonb_build_object('assignee', agent_id,
        'assignee_name', COALESCE(NULLIF(agent_name, ''), agent_username))
    FROM routed WHERE agent_id IS NOT NULL
), timeline AS (
    INSERT INTO tickets_ticketevent (ticket_id, actor_id, kind, from_state, to_state, comment, data, created_at)
    SELECT new_ticket.id, lines.actor_id, lines.kind, '', lines.to_state, '', lines.data, new_ticket.created_at
    FROM new_ticket, lines ORDER BY lines.position
)
SELECT new_ticket.id, new_ticket.number, {ROUTE_COLUMNS} FROM new_ticket, routed""")  # noqa: S608


def _compact(sql: str) -> str:
    """The statement on one line, without spaces around parentheses and commas: psycopg caches the
    conversion of statements up to 4 kB (MAX_CACHED_STATEMENT_LENGTH). No literal here holds a space."""
    return re.sub(r" ?([(),]) ?", r"\1", " ".join(sql.split()))
