"""问题咨询: filing a ticket. It is numbered ``TS`` + date + daily serial, gap-free, and routed to a pool
and an agent (routing.py) as it is written."""

from __future__ import annotations

import functools
import json
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import User
from helpdesk.core import eventlog
from helpdesk.core.db import fetch_prepared
from helpdesk.core.events import current_event_origin, outgoing_items, push_stored, send_events
from helpdesk.core.search import search_text_for

from .. import events, notifications, selectors, sql
from ..fields import validate_contact_info
from ..models import Priority, SLAPolicy, Ticket, TicketEvent, TicketSearch
from .core import event, ticket_number_for
from .routing import assign_to_pool, route_params, routed_to
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
    # Optional: without it the account's phone or e-mail is used, and an account may have neither.
    # What the asker types must be one of the two (the account's own is the account's business).
    try:
        validate_contact_info(contact_info)
    except ValidationError as exc:
        raise ValidationError({"contact_info": exc.messages}) from None
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
    # The checks of the fields the asker gave: the others are the platform's own (state, clocks,
    # routing, number), set right by construction; the table's check constraints hold for a new ticket
    # and the database enforces them (validating them here cost two queries per create). Checking
    # every field cost ~3 times as much CPU.
    ticket.clean_fields(exclude=_not_given_by_asker())
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
    return ticket


# The ticket's fields that come from the asker (the form's and the API's), which the create checks.
ASKER_FIELDS = ("title", "description", "type", "priority", "contact_name", "contact_info")


@functools.cache
def _not_given_by_asker() -> frozenset[str]:
    return frozenset(field.name for field in Ticket._meta.fields if field.name not in ASKER_FIELDS)


def _outgoing(ticket: Ticket, payload: dict[str, Any]) -> list[tuple[list[int], str, dict[str, Any]]]:
    """The create's realtime events: the asker's, and the agent's when one was assigned (the order
    in which tickets.sql.create_ticket_sql stores them)."""
    outgoing = [([ticket.asker_id], events.TICKET_CREATED, payload)]
    if ticket.assignee_id:
        outgoing.append(([ticket.assignee_id], events.TICKET_ASSIGNED, payload))
    return outgoing


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
        cursor.execute(sql.NEXT_SERIAL_SQL, [day])
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
        send_events(_outgoing(ticket, events.ticket_payload(ticket)))


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
    # The events' payload but for the id and number, which the statement adds (updated_at is set:
    # pre_save above stamped it).
    known = {key: value for key, value in events.ticket_payload(ticket).items() if key not in ("id", "number")}
    origin, stored_at = current_event_origin(), timezone.now()
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
        json.dumps(known),
        ticket.asker_id,
        events.TICKET_CREATED,
        events.TICKET_ASSIGNED,
        origin,
        stored_at,
    ]
    ticket.pk, ticket.number, *row, cursors = fetch_prepared(sql.create_ticket_sql(sql.route_depth(route)), params)
    ticket._state.adding = False
    ticket._state.db = connection.alias
    routed_to(ticket, row if row[0] is not None else None)
    ticket.ack_due_at = ack_due_at if ticket.assignee_id else None
    ticket.sla_check_at = check_assigned if ticket.assignee_id else check_unassigned
    # The payload the statement stored: what it knew, with the id and number it gave.
    items = outgoing_items(_outgoing(ticket, {"id": ticket.pk, "number": ticket.number, **known}))
    push_stored(eventlog.stored_by_statement(items, cursors, origin=origin, now=stored_at))


# Stands for whichever agent the statement assigns: the schedule only asks whether there is one.
_ANY_AGENT = 0


def _json_value(value: Any) -> str:
    """Dates and times as ISO 8601 to the microsecond (PostgreSQL reads them back exactly); decimals,
    UUIDs and the like as text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@functools.cache
def _ticket_insert_plan() -> list[tuple[models.Field, str]]:
    """Each inserted field and where its value comes from: the ticket, sent in one JSON record (one
    parameter, where one per column would make the statement too long and too many-parametered for
    psycopg to cache its conversion), the routing, or the clocks computed for both routings."""

    def source(field: models.Field) -> str:
        if field.attname in ("ack_due_at", "sla_check_at"):
            return field.attname
        return "routing" if field.attname in sql.FROM_ROUTING else "record"

    return [(field, source(field)) for field in sql.ticket_insert_fields()]


NEW_TICKETS_MARK = "tickets.new_in_pool"
# A ticket is numbered and stamped before its transaction commits: one filed this recently may not
# be visible yet while a later one is. Only tickets older than this are taken, so none is skipped.
NEW_TICKETS_SETTLE = timedelta(seconds=3)


def tickets_notify_new(*, now: datetime | None = None, batch_size: int = 1000) -> int:
    """Tell each pool of the tickets filed since the last run: the handler that it is theirs, the
    pool's other on-duty agents that it arrived (beat, every few seconds). Off the create path: a
    create pays nothing for it, and a burst of creates is one batch of inserts. A watermark under a
    row lock makes overlapping runs take turns; returns how many notifications were written."""
    from helpdesk.core.models import Watermark

    now = now or timezone.now()
    with transaction.atomic():
        mark, created = Watermark.objects.select_for_update().get_or_create(name=NEW_TICKETS_MARK)
        if created:
            # The first run starts from what exists: the platform's history is not news.
            mark.value = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        tickets = list(
            Ticket.objects.filter(pk__gt=mark.value, created_at__lte=now - NEW_TICKETS_SETTLE)
            .only("pk", "number", "title", "pool_unit_id", "assignee_id", "asker_id")
            .order_by("pk")[:batch_size]
        )
        drafts = []
        if tickets:
            agents = selectors.pool_agents_of(unit_ids={t.pool_unit_id for t in tickets if t.pool_unit_id})
            for ticket in tickets:
                if ticket.pool_unit_id:
                    drafts.extend(notifications.pool_drafts(ticket, agent_ids=agents.get(ticket.pool_unit_id, [])))
            mark.value = tickets[-1].pk
        mark.updated_at = now
        mark.save()
        return len(account_services.notify(drafts))
