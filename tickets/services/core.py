"""Ticket numbering, creation, the one transition table and 分级轮巡 routing. Review, replies and
rating (workflow.py) and the SLA sweep (sweep.py) build on ``ticket_transition``."""

from __future__ import annotations

import functools
import json
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.db import fetch_prepared
from helpdesk.events import send_event, send_events
from orgtree.models import OrgUnit

from .. import selectors
from ..models import Priority, SLAPolicy, Ticket, TicketEvent, TicketSearch, TicketState, TicketType
from ..search import search_text_for
from .sla import apply_clock_effects, refresh_sla_schedule, sla_policy_for, ticket_compute_deadlines

S = TicketState

# action → (states it may start from, state it leads to). Every state change goes through here.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "accept": (frozenset({S.NEW}), S.IN_PROGRESS),
    "request_info": (frozenset({S.IN_PROGRESS}), S.WAITING_ASKER),
    "provide_info": (frozenset({S.WAITING_ASKER}), S.IN_PROGRESS),
    "submit_answer": (frozenset({S.IN_PROGRESS}), S.PENDING_REVIEW),
    # The answering unit has turned review off: the answer goes straight to the asker.
    "answer_direct": (frozenset({S.IN_PROGRESS}), S.ANSWERED),
    "approve": (frozenset({S.PENDING_REVIEW}), S.ANSWERED),
    "reject": (frozenset({S.PENDING_REVIEW}), S.IN_PROGRESS),
    "confirm": (frozenset({S.ANSWERED}), S.RESOLVED),
    "reopen": (frozenset({S.ANSWERED, S.RESOLVED}), S.IN_PROGRESS),
    "rate": (frozenset({S.RESOLVED}), S.CLOSED),
    "close": (frozenset({S.RESOLVED}), S.CLOSED),
    # A breach moves the ticket to the pool above, where the next agent must accept it again.
    "escalate": (frozenset({S.NEW, S.IN_PROGRESS}), S.NEW),
}
EVENT_FOR_ACTION = {
    "accept": TicketEvent.Kind.ACCEPTED,
    "request_info": TicketEvent.Kind.INFO_REQUESTED,
    "provide_info": TicketEvent.Kind.INFO_PROVIDED,
    "submit_answer": TicketEvent.Kind.ANSWERED,
    "answer_direct": TicketEvent.Kind.ANSWERED,
    "approve": TicketEvent.Kind.REVIEWED,
    "reject": TicketEvent.Kind.REJECTED,
    "confirm": TicketEvent.Kind.CONFIRMED,
    "reopen": TicketEvent.Kind.REOPENED,
    "rate": TicketEvent.Kind.RATED,
    "close": TicketEvent.Kind.CLOSED,
    "escalate": TicketEvent.Kind.ESCALATED,
}


def ticket_number_for(day: date, serial: int) -> str:
    """``TS`` + date + daily serial of at least three digits: ``TS20231027001``."""
    return f"TS{day:%Y%m%d}{serial:03d}"


def _next_serial(day: date) -> int:
    """Take the day's next serial in one upsert, which row-locks the day's counter until the creating
    transaction ends: numbers are unique, and a create that rolls back gives its serial back, so the
    day's numbers stay gap-free. Called as late as possible in the transaction to hold the lock briefly."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tickets_ticketdaycounter (day, last_serial) VALUES (%s, 1) ON CONFLICT (day) "
            "DO UPDATE SET last_serial = tickets_ticketdaycounter.last_serial + 1 RETURNING last_serial",
            [day],
        )
        return cursor.fetchone()[0]


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
    with transaction.atomic():
        lines = [
            event(
                ticket,
                actor=asker,
                kind=TicketEvent.Kind.CREATED,
                to_state=ticket.state,
                data={"priority": ticket.priority, "type": ticket.type},
            )
        ]
        lines += _assign_to_pool(ticket, start=unit, above=False, actor=None, policy=policy, now=now)
        refresh_sla_schedule(ticket, policy=policy)
        _insert_numbered(
            ticket,
            day=timezone.localdate(now),
            search_text=search_text_for(ticket.title, ticket.description),
            lines=lines,
        )
        payload = {"id": ticket.pk, "number": ticket.number, "state": ticket.state}
        outgoing = [([asker.pk], "ticket.created", payload)]
        if ticket.assignee_id:
            outgoing.append(([ticket.assignee_id], "ticket.assigned", payload))
        send_events(outgoing)
    return ticket


def _insert_numbered(ticket: Ticket, *, day: date, search_text: str, lines: list[TicketEvent]) -> None:
    """Number and write a new ticket with its search text and first timeline lines.

    The day's counter stays row-locked from the serial's upsert until the transaction commits, so
    every create waits for the one before it there: on PostgreSQL the four writes are one prepared
    statement sent last, which keeps that wait to one round trip. Elsewhere, the ORM in four steps.
    """
    if connection.vendor == "postgresql":
        _insert_numbered_in_one_statement(ticket, day=day, search_text=search_text, lines=lines)
    else:
        _insert_numbered_step_by_step(ticket, day=day, search_text=search_text, lines=lines)


def _insert_numbered_step_by_step(ticket: Ticket, *, day: date, search_text: str, lines: list[TicketEvent]) -> None:
    ticket.number = ticket_number_for(day, _next_serial(day))
    ticket.save(force_insert=True)
    TicketSearch.objects.create(ticket=ticket, text=search_text)
    TicketEvent.objects.bulk_create(lines)


def _insert_numbered_in_one_statement(ticket: Ticket, *, day: date, search_text: str, lines: list[TicketEvent]) -> None:
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself: each attribute read through the proxy costs
    params = [day]
    for field, prepare in _ticket_insert_plan():
        value = field.pre_save(ticket, True)
        params.append(field.get_db_prep_save(value, db) if prepare else value)
    params += [f"TS{day:%Y%m%d}", search_text]
    # The timeline lines as one JSON document: the statement's text and parameter count stay the same
    # whatever the number of lines (psycopg caches the conversion of statements up to 50 parameters),
    # and one json.dumps is cheaper than adapting an array per column.
    lines_json = [
        {
            "actor_id": line.actor_id,
            "kind": line.kind,
            "from_state": line.from_state,
            "to_state": line.to_state,
            "comment": line.comment,
            "data": line.data,
        }
        for line in lines
    ]
    params.append(json.dumps(lines_json))
    ticket.pk, ticket.number = fetch_prepared(_numbered_insert_sql(), params)
    ticket._state.adding = False
    ticket._state.db = connection.alias


def _ticket_insert_fields() -> list:
    return [f for f in Ticket._meta.concrete_fields if not f.primary_key and f.attname != "number"]


# Fields whose Python value psycopg sends as it is: Django's preparation of them only checks and
# converts what is already right, at 36 calls a create. Any other kind (JSON, decimals, …) is prepared.
_SENT_AS_IS = (
    models.CharField,
    models.TextField,
    models.DateTimeField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
)


@functools.cache
def _ticket_insert_plan() -> list:
    return [(field, not isinstance(field, _SENT_AS_IS)) for field in _ticket_insert_fields()]


@functools.cache
def _numbered_insert_sql() -> str:
    """The create's one statement: take the day's serial, insert the ticket numbered ``TS`` + day +
    serial (at least three digits, as ``ticket_number_for``), its search text and its timeline lines."""
    columns = ", ".join(f.column for f in _ticket_insert_fields())
    # Typed placeholders: a prepared statement's parameter types are fixed by the first call.
    values = ", ".join(f"%s::{f.db_type(connection)}" for f in _ticket_insert_fields())
    # Column names come from the model and every value is a bound parameter.
    return f"""
WITH serial AS (
    INSERT INTO tickets_ticketdaycounter (day, last_serial) VALUES (%s::date, 1) ON CONFLICT (day)
    DO UPDATE SET last_serial = tickets_ticketdaycounter.last_serial + 1 RETURNING last_serial
), new_ticket AS (
    INSERT INTO tickets_ticket ({columns}, number) VALUES ({values}, (
        SELECT %s::text || CASE WHEN last_serial < 1000 THEN lpad(last_serial::text, 3, '0') ELSE last_serial::text END
        FROM serial))
    RETURNING id, number, created_at
), search AS (
    INSERT INTO tickets_ticketsearch (ticket_id, text) SELECT id, %s::text FROM new_ticket
), timeline AS (
    INSERT INTO tickets_ticketevent (ticket_id, actor_id, kind, from_state, to_state, comment, data, created_at)
    SELECT new_ticket.id, line.*, new_ticket.created_at FROM new_ticket,
        jsonb_to_recordset(%s::jsonb)
            AS line(actor_id bigint, kind text, from_state text, to_state text, comment text, data jsonb)
)
SELECT id, number FROM new_ticket"""  # noqa: S608


def notify_ticket(ticket: Ticket, *, event_type: str = "ticket.updated", extra: set[int] | None = None) -> None:
    """Tell the people of a ticket (asker, handler, and whoever else is named) that it changed."""
    recipients = {ticket.asker_id} | ({ticket.assignee_id} if ticket.assignee_id else set()) | (extra or set())
    send_event(
        user_ids=recipients,
        event_type=event_type,
        payload={"id": ticket.pk, "number": ticket.number, "state": ticket.state},
    )


def ticket_transition(
    *,
    ticket: Ticket,
    actor: User | None,
    action: str,
    comment: str = "",
    changes: dict[str, Any] | None = None,
    extra_recipients: set[int] | None = None,
    data: dict[str, Any] | None = None,
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
                {
                    "state": [
                        _("This action is not possible while the ticket is “%(state)s”.")
                        % {"state": locked.get_state_display()}
                    ]
                }
            )
        from_state = locked.state
        locked.state = to_state
        for name, value in (changes or {}).items():
            setattr(locked, name, value)
        if "solution" in (changes or {}):
            text = search_text_for(locked.title, locked.description, locked.solution)
            TicketSearch.objects.update_or_create(ticket=locked, defaults={"text": text})
        apply_clock_effects(locked, action=action, now=timezone.now())
        locked.save()
        _record(
            locked,
            actor=actor,
            kind=EVENT_FOR_ACTION[action],
            from_state=from_state,
            to_state=to_state,
            comment=comment,
            data={k: _plain(v) for k, v in (changes or {}).items()} | (data or {}),
        )
        notify_ticket(locked, extra=({actor.pk} if actor else set()) | (extra_recipients or set()))
    return locked


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


# --- 分级轮巡 routing -----------------------------------------------------------------------------
# Which handling group serves each type of question (seed 004, step 3).
GROUP_FOR_TYPE = {
    TicketType.HARDWARE: "hardware",
    TicketType.SOFTWARE: "software",
    TicketType.CONSULTATION: "training",
    TicketType.COMPLAINT: "complaints",
}


def ancestor_paths(path: str) -> list[str]:
    """``path`` and the paths of every unit above it, nearest first."""
    step = OrgUnit.steplen
    return [path[:length] for length in range(len(path), 0, -step)]


# 分级轮巡 in one statement: find the nearest unit among the candidates with an on-duty agent of the
# group, and take the next agent's turn there. ON CONFLICT DO UPDATE row-locks the pool's turn and
# evaluates the next agent against the latest committed turn, so concurrent creates in one pool take
# agents one after another; a pool's first ticket inserts the turn row with its first agent.
_ROUTE_SQL = """
WITH grp AS (SELECT id FROM accounts_handlinggroup WHERE code = %s),
candidate AS (SELECT id, depth FROM orgtree_orgunit WHERE path IN ({paths})),
agent AS (
    SELECT ra.unit_id, ra.user_id FROM accounts_roleassignment ra
    JOIN accounts_roleassignment_handling_groups rg ON rg.roleassignment_id = ra.id
    JOIN accounts_user au ON au.id = ra.user_id
    WHERE ra.unit_id IN (SELECT id FROM candidate) AND ra.role = 'support_agent' AND ra.on_duty
        AND au.is_active AND rg.handlinggroup_id = (SELECT id FROM grp)
),
pool AS (
    SELECT candidate.id FROM candidate WHERE EXISTS (SELECT 1 FROM agent WHERE agent.unit_id = candidate.id)
    ORDER BY candidate.depth DESC LIMIT 1
)
INSERT INTO tickets_poolturn (unit_id, group_id, last_agent_id)
SELECT pool.id, grp.id, (SELECT min(user_id) FROM agent WHERE agent.unit_id = pool.id) FROM pool, grp WHERE true
ON CONFLICT (unit_id, group_id) DO UPDATE SET last_agent_id = COALESCE(
    (SELECT min(user_id) FROM agent WHERE agent.unit_id = tickets_poolturn.unit_id
        AND agent.user_id > COALESCE(tickets_poolturn.last_agent_id, 0)),
    (SELECT min(user_id) FROM agent WHERE agent.unit_id = tickets_poolturn.unit_id))
RETURNING unit_id, (SELECT name FROM orgtree_orgunit WHERE id = unit_id),
    (SELECT path FROM orgtree_orgunit WHERE id = unit_id), last_agent_id,
    (SELECT name FROM accounts_user WHERE id = last_agent_id),
    (SELECT username FROM accounts_user WHERE id = last_agent_id)
"""


def _route_in_one_statement(*, start_path: str, ticket_type: str, above: bool):
    paths = ancestor_paths(start_path)[1 if above else 0 :]
    if not paths:
        return None
    return fetch_prepared(_route_sql(len(paths)), [GROUP_FOR_TYPE[ticket_type], *paths])


@functools.cache
def _route_sql(depth: int) -> str:
    return _ROUTE_SQL.replace("{paths}", ", ".join(["%s"] * depth))


def _assign_to_pool(
    ticket: Ticket, *, start: OrgUnit, above: bool, actor: User | None, policy: SLAPolicy, now: datetime
) -> list[TicketEvent]:
    """Set pool and agent on the (unsaved or locked) ticket; return the timeline lines to write."""
    row = _route_in_one_statement(start_path=start.path, ticket_type=ticket.type, above=above)
    if row is None:
        return [event(ticket, actor=actor, kind=TicketEvent.Kind.ROUTED, data={"pool": None})]
    pool_id, pool_name, pool_path, agent_id, agent_name, agent_username = row
    # What the statement returned, enough for the timeline, the events and the create's answer.
    ticket.pool_unit = OrgUnit(pk=pool_id, name=pool_name, path=pool_path)
    ticket.assignee = User(pk=agent_id, name=agent_name, username=agent_username) if agent_id else None
    # Seed 004: the handler confirms receipt within the policy's time (1 hour).
    ticket.ack_due_at = now + timedelta(minutes=policy.acknowledge_minutes) if agent_id else None
    lines = [event(ticket, actor=actor, kind=TicketEvent.Kind.ROUTED, data={"pool": pool_id, "pool_name": pool_name})]
    if agent_id is not None:
        lines.append(
            event(
                ticket,
                actor=actor,
                kind=TicketEvent.Kind.ASSIGNED,
                data={"assignee": agent_id, "assignee_name": agent_name or agent_username},
            )
        )
    return lines


def ticket_route(*, ticket: Ticket, above: bool = False, actor: User | None = None) -> Ticket:
    """Put a saved ticket in the nearest pool that serves its type (or the pool above its current
    one) and assign the agent whose turn it is. With no pool, it stays where it is, and the timeline
    says so."""
    now = timezone.now()
    start = ticket.pool_unit if above and ticket.pool_unit_id else ticket.unit
    with transaction.atomic():
        policy = sla_policy_for(ticket.priority)
        lines = _assign_to_pool(ticket, start=start, above=above, actor=actor, policy=policy, now=now)
        refresh_sla_schedule(ticket, policy=policy)
        ticket.save()
        TicketEvent.objects.bulk_create(lines)
        if ticket.assignee_id:
            notify_ticket(ticket, event_type="ticket.assigned")
    return ticket


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
        notify_ticket(locked)
    return locked
