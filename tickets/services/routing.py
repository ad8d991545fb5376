"""分级轮巡 routing: a ticket goes to the nearest pool that serves its type, and inside the pool to the
agent whose turn it is. ``ticket_create`` runs the same routing inside its one statement (intake.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone

from accounts.models import RoleAssignment, User
from accounts.scope import subtrees_q
from helpdesk.core.db import fetch_prepared
from helpdesk.core.paths import ancestor_paths
from helpdesk.core.tombstones import record_resync
from orgtree.models import OrgUnit

from .. import events, selectors, sql
from ..models import SLAPolicy, Ticket, TicketEvent, TicketType
from .core import event, notify_ticket, record_left_lists
from .sla import refresh_sla_schedule, sla_policy_for

# Which handling group serves each type of question (seed 004, step 3).
GROUP_FOR_TYPE = {
    TicketType.HARDWARE: "hardware",
    TicketType.SOFTWARE: "software",
    TicketType.CONSULTATION: "training",
    TicketType.COMPLAINT: "complaints",
}


def unit_ancestor_paths(path: str) -> list[str]:
    """A unit's path and the paths of every unit above it, nearest first: the pools that may serve it."""
    return ancestor_paths(path, OrgUnit.steplen)


def route_params(*, start_path: str, ticket_type: str, above: bool) -> list[str] | None:
    """The routing statement's parameters (``tickets.sql``), or None when there is no unit to look in
    (above the top)."""
    paths = unit_ancestor_paths(start_path)[1 if above else 0 :]
    return sql.route_params(GROUP_FOR_TYPE[ticket_type], paths) if paths else None


def routed_to(ticket: Ticket, row: tuple | None) -> None:
    """Set pool and agent on the ticket from a ``route`` row (enough for the timeline, the events and
    an API answer), or clear them when no pool was found."""
    if row is None:
        ticket.pool_unit, ticket.assignee = None, None
        return
    pool_id, pool_name, pool_path, agent_id, agent_name, agent_username = row
    # As the rows were read, the other columns deferred (read from the database if anything asks):
    # a quarter of the cost of building them from keyword arguments, which sets every other field
    # to its default (and would show those defaults as the unit's or the agent's values).
    # from_db takes the values in the model's field order.
    ticket.pool_unit = OrgUnit.from_db(DEFAULT_DB_ALIAS, _POOL_FIELDS, (pool_id, pool_path, pool_name))
    ticket.assignee = (
        User.from_db(DEFAULT_DB_ALIAS, _AGENT_FIELDS, (agent_id, agent_username, agent_name)) if agent_id else None
    )


_POOL_FIELDS = ("id", "path", "name")
_AGENT_FIELDS = ("id", "username", "name")


def routing_lines(ticket: Ticket, *, actor: User | None) -> list[TicketEvent]:
    """The timeline lines of a routing whose outcome is set on the ticket."""
    if ticket.pool_unit is None:
        return [event(ticket, actor=actor, kind=TicketEvent.Kind.ROUTED, data={"pool": None})]
    pool = ticket.pool_unit
    lines = [event(ticket, actor=actor, kind=TicketEvent.Kind.ROUTED, data={"pool": pool.pk, "pool_name": pool.name})]
    if ticket.assignee is not None:
        agent = ticket.assignee
        lines.append(
            event(
                ticket,
                actor=actor,
                kind=TicketEvent.Kind.ASSIGNED,
                data={"assignee": agent.pk, "assignee_name": agent.name or agent.username},
            )
        )
    return lines


def assign_to_pool(
    ticket: Ticket, *, start: OrgUnit, above: bool, actor: User | None, policy: SLAPolicy, now: datetime
) -> list[TicketEvent]:
    """Set pool and agent on the (unsaved or locked) ticket; return the timeline lines to write.
    With no pool, the ticket keeps the pool and agent it had."""
    params = route_params(start_path=start.path, ticket_type=ticket.type, above=above)
    row = fetch_prepared(sql.route_sql(sql.route_depth(params)), params) if params else None
    if row is None:
        return [event(ticket, actor=actor, kind=TicketEvent.Kind.ROUTED, data={"pool": None})]
    routed_to(ticket, row)
    # Seed 004: the handler confirms receipt within the policy's time (1 hour).
    ticket.ack_due_at = now + timedelta(minutes=policy.acknowledge_minutes) if ticket.assignee_id else None
    return routing_lines(ticket, actor=actor)


def tickets_follow_unit_move(*, old_path: str, new_path: str, using: str = "default") -> int:
    """A unit moved in the tree (the admin's drag and drop): its subtree's paths were rewritten from
    ``old_path`` to ``new_path``, and so must be the copies on its tickets, which every scoped read
    and the routing use. Same transaction as the move. Returns the tickets rewritten.

    Who may see those tickets changes (the staff above the old place lose them, those above the new
    one gain them), so for delta sync (selectors.ticket_delta_source) the tickets count as changed
    (``updated_at``: the new side receives them) and the staff above the old place only are told to
    fetch their ticket lists afresh (one resync marker each, not a tombstone per ticket)."""
    now = timezone.now()
    moved = (
        Ticket.objects.using(using)
        .filter(subtrees_q([old_path], "unit_path"))
        .update(unit_path=Concat(Value(new_path), Substr("unit_path", len(old_path) + 1)), updated_at=now)
    )
    if moved:
        step = OrgUnit.steplen
        losing = set(ancestor_paths(old_path, step)[1:]) - set(ancestor_paths(new_path, step))
        staff = RoleAssignment.objects.using(using).filter(unit__path__in=losing, role__in=selectors.STAFF_ROLES)
        record_resync(user_ids=staff.values_list("user_id", flat=True), kind=selectors.TOMBSTONE_KIND, at=now)
    return moved


def ticket_route(*, ticket: Ticket, above: bool = False, actor: User | None = None) -> Ticket:
    """Put a saved ticket in the nearest pool that serves its type (or the pool above its current
    one) and assign the agent whose turn it is. With no pool, it stays where it is, and the timeline
    says so."""
    now = timezone.now()
    start = ticket.pool_unit if above and ticket.pool_unit_id else ticket.unit
    with transaction.atomic():
        before = (ticket.assignee_id, ticket.pool_unit_id)
        policy = sla_policy_for(ticket.priority)
        lines = assign_to_pool(ticket, start=start, above=above, actor=actor, policy=policy, now=now)
        refresh_sla_schedule(ticket, policy=policy)
        ticket.save()
        TicketEvent.objects.bulk_create(lines)
        record_left_lists(ticket, assignee=before[0], pool=before[1])
        if ticket.assignee_id:
            notify_ticket(ticket, event_type=events.TICKET_ASSIGNED)
    return ticket
