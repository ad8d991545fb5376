"""Every raw SQL statement of tickets, in one place. Table names come from each model's
``_meta.db_table`` and constants (the agent role) are bound parameters; statements of one shape are
built once and cached, so psycopg prepares or caches each once per connection.

Raw SQL only where the ORM cannot say it in one round trip: the create's single statement (route,
number, insert, timeline), the routing upsert on the pool's turn, the day's serial, and the SLA
sweep's batch writes. Where PostgreSQL and SQLite differ the statement comes in two versions; the
create's SQLite path is the ORM (services/intake.py), and
``test_both_ways_of_writing_a_new_ticket_store_the_same_rows`` runs both on PostgreSQL and compares
what they store.
"""

from __future__ import annotations

import functools
import re

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from accounts.models import HandlingGroup, Role, RoleAssignment, User
from helpdesk.core.eventlog import CURSORS_COLUMN, STORE_CTES
from orgtree.models import OrgUnit

from .models import PoolTurn, Ticket, TicketDayCounter, TicketEvent, TicketSearch


def _table(model: type[models.Model]) -> str:
    return model._meta.db_table


# 分级轮巡: the CTEs find the nearest unit among the candidates with an on-duty agent of the group,
# and the insert takes the next agent's turn there. ON CONFLICT DO UPDATE row-locks the pool's turn
# and evaluates the next agent against the latest committed turn, so concurrent creates in one pool
# take agents one after another; a pool's first ticket inserts the turn row with its first agent. It
# returns one row, or none when no pool serves the type. Parameters: the group's code, the candidate
# paths ({paths}), the agent role.
_ROUTE_CTES = f"""
grp AS (SELECT id FROM {_table(HandlingGroup)} WHERE code = %s),
candidate AS (SELECT id, depth FROM {_table(OrgUnit)} WHERE path IN ({{paths}})),
agent AS (
    SELECT ra.unit_id, ra.user_id FROM {_table(RoleAssignment)} ra
    JOIN {_table(RoleAssignment.handling_groups.through)} rg ON rg.roleassignment_id = ra.id
    JOIN {_table(User)} au ON au.id = ra.user_id
    WHERE ra.unit_id IN (SELECT id FROM candidate) AND ra.role = %s AND ra.on_duty
        AND au.is_active AND rg.handlinggroup_id = (SELECT id FROM grp)
),
pool AS (
    SELECT candidate.id FROM candidate WHERE EXISTS (SELECT 1 FROM agent WHERE agent.unit_id = candidate.id)
    ORDER BY candidate.depth DESC LIMIT 1
)"""  # noqa: S608 - table names from the models; every value is a parameter
_TURN = _table(PoolTurn)
_ROUTE_INSERT = f"""
INSERT INTO {_TURN} (unit_id, group_id, last_agent_id)
SELECT pool.id, grp.id, (SELECT min(user_id) FROM agent WHERE agent.unit_id = pool.id) FROM pool, grp WHERE true
ON CONFLICT (unit_id, group_id) DO UPDATE SET last_agent_id = COALESCE(
    (SELECT min(user_id) FROM agent WHERE agent.unit_id = {_TURN}.unit_id
        AND agent.user_id > COALESCE({_TURN}.last_agent_id, 0)),
    (SELECT min(user_id) FROM agent WHERE agent.unit_id = {_TURN}.unit_id))
RETURNING unit_id AS pool_id, (SELECT name FROM {_table(OrgUnit)} WHERE id = unit_id) AS pool_name,
    (SELECT path FROM {_table(OrgUnit)} WHERE id = unit_id) AS pool_path, last_agent_id AS agent_id,
    (SELECT name FROM {_table(User)} WHERE id = last_agent_id) AS agent_name,
    (SELECT username FROM {_table(User)} WHERE id = last_agent_id) AS agent_username"""  # noqa: S608
ROUTE_COLUMNS = "pool_id, pool_name, pool_path, agent_id, agent_name, agent_username"


def route_params(group_code: str, paths: list[str]) -> list[str]:
    """The routing's parameters in the order its text binds them."""
    return [group_code, *paths, Role.SUPPORT_AGENT.value]


def route_depth(params: list[str]) -> int:
    """How many candidate paths ``route_params`` holds (the statement's shape)."""
    return len(params) - 2


def _route_ctes_for(depth: int) -> str:
    return _ROUTE_CTES.replace("{paths}", ", ".join(["%s"] * depth))


@functools.cache
def route_ctes(depth: int) -> str:
    """Routing as common table expressions ending in ``route`` (PostgreSQL: SQLite has no INSERT in a
    CTE), for a start unit ``depth`` levels deep."""
    return f"{_route_ctes_for(depth)},\nroute AS ({_ROUTE_INSERT})"


@functools.cache
def route_sql(depth: int) -> str:
    """Routing on its own (a ticket moving to a pool after it was created): one row, or none."""
    return f"WITH {_route_ctes_for(depth)}{_ROUTE_INSERT}"


_COUNTER = _table(TicketDayCounter)
# Take the day's next serial in one upsert, which row-locks the day's counter until the creating
# transaction ends. Parameter: the day.
NEXT_SERIAL_SQL = (
    f"INSERT INTO {_COUNTER} (day, last_serial) VALUES (%s, 1) ON CONFLICT (day) "  # noqa: S608
    f"DO UPDATE SET last_serial = {_COUNTER}.last_serial + 1 RETURNING last_serial"
)


def ticket_insert_fields() -> list[models.Field]:
    """The ticket's columns the create writes (all but the id, which the database gives, and the
    number, which the statement makes)."""
    return [f for f in Ticket._meta.concrete_fields if not f.primary_key and f.attname != "number"]


# Columns the create statement fills from its routing, with the SQL that does it.
FROM_ROUTING = {
    "pool_unit_id": "routed.pool_id",
    "assignee_id": "routed.agent_id",
    "ack_due_at": "CASE WHEN routed.agent_id IS NOT NULL THEN %s::timestamptz END",
    "sla_check_at": "CASE WHEN routed.agent_id IS NULL THEN %s::timestamptz ELSE %s::timestamptz END",
}


@functools.cache
def create_ticket_sql(depth: int) -> str:
    """The create's one statement: route, take the day's serial, insert the ticket numbered ``TS`` +
    day + serial (at least three digits, as ``ticket_number_for``), its search text and its timeline:
    the asker's line, then the routing's lines as ``routing_lines`` writes them. ``serial`` selects
    from ``routed``, so the pool's turn is always locked before the day's counter.

    Parameters: the routing's (``route_params``), the day, the clocks of ``FROM_ROUTING`` in column
    order, the number's prefix, the ticket's other columns as one JSON record (one parameter, where
    one per column would make the statement too long and too many-parametered for psycopg to cache
    its conversion), the search text, the asker's line (actor, kind, state, data), the kinds of
    the routed and the assigned lines, then the realtime events': the payload without id and number,
    the asker's id, the asker's event type, the assignee's event type, the origin and the time.

    The events are numbered and stored in the same statement (helpdesk.core.eventlog.STORE_CTES): the
    asker's, and the assigned agent's when the statement assigned one. A second statement after the
    commit cost every create a round trip and a commit of its own (bench/README.md). The cursor rows
    are locked after the day's counter, as every create does, and only until this statement commits.
    The answer's last column is the cursors' new values."""
    fields = ticket_insert_fields()
    columns = ", ".join(f.column for f in fields)
    values = ", ".join(FROM_ROUTING.get(f.attname, f.column) for f in fields)
    ticket, search, event = _table(Ticket), _table(TicketSearch), _table(TicketEvent)
    # Column names come from the model and every value is a bound parameter, typed: a prepared
    # statement's parameter types are fixed by its first call.
    return _compact(f"""
WITH {route_ctes(depth)},
routed AS (SELECT route.* FROM (VALUES (1)) AS one (row) LEFT JOIN route ON true),
serial AS (
    INSERT INTO {_COUNTER} (day, last_serial) SELECT %s::date, 1 FROM routed ON CONFLICT (day)
    DO UPDATE SET last_serial = {_COUNTER}.last_serial + 1 RETURNING last_serial
), new_ticket AS (
    INSERT INTO {ticket} ({columns}, number) SELECT {values},
        %s::text || CASE WHEN last_serial < 1000 THEN lpad(last_serial::text, 3, '0') ELSE last_serial::text END
    FROM routed, serial, jsonb_populate_record(NULL::{ticket}, %s::jsonb) AS given
    RETURNING id, number, created_at
), search AS (
    INSERT INTO {search} (ticket_id, text) SELECT id, %s::text FROM new_ticket
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
    INSERT INTO {event} (ticket_id, actor_id, kind, from_state, to_state, comment, data, created_at)
    SELECT new_ticket.id, lines.actor_id, lines.kind, '', lines.to_state, '', lines.data, new_ticket.created_at
    FROM new_ticket, lines ORDER BY lines.position
), event_payload AS (
    SELECT %s::jsonb || jsonb_build_object('id', id, 'number', number) AS payload FROM new_ticket
), event_items AS (
    SELECT %s::bigint AS user_id, 0 AS ord, %s::varchar AS type, payload FROM event_payload
    UNION ALL
    SELECT agent_id, 1, %s::varchar, payload FROM event_payload, routed WHERE agent_id IS NOT NULL
), {STORE_CTES}
SELECT new_ticket.id, new_ticket.number, {ROUTE_COLUMNS}, {CURSORS_COLUMN} FROM new_ticket, routed""")  # noqa: S608


def _compact(sql: str) -> str:
    """The statement on one line, without spaces around parentheses and commas: psycopg caches the
    conversion of statements up to 4 kB (MAX_CACHED_STATEMENT_LENGTH). No literal here holds a space."""
    return re.sub(r" ?([(),]) ?", r"\1", " ".join(sql.split()))


# --- The SLA sweep's batch writes (services/sweep.py) ------------------------------------------------
# One statement per batch instead of Django's bulk_update (a CASE per field and row, seconds at a
# thousand tickets). PostgreSQL takes the batch as one JSON or array parameter (psycopg adapts a
# list per value in Python, and a placeholder per value costs its client-side parse); SQLite runs
# the same write row by row with executemany.


def update_tickets_from_json_sql(fields: list[models.Field], connection: BaseDatabaseWrapper) -> str:
    """PostgreSQL: set ``fields`` of every ticket in the JSON array parameter (objects by column)."""
    quote = connection.ops.quote_name
    columns = ", ".join(f"{quote(field.column)} {field.db_type(connection)}" for field in fields)
    assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in fields)
    return (
        f"UPDATE {_table(Ticket)} AS t SET {assignments} "  # noqa: S608 - model column names only
        f"FROM json_to_recordset(%s::json) AS v(id bigint, {columns}) WHERE t.id = v.id"
    )


def update_ticket_sql(fields: list[models.Field], connection: BaseDatabaseWrapper) -> str:
    """SQLite: set ``fields`` of one ticket (parameters: the values, then the id)."""
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    return f"UPDATE {_table(Ticket)} SET {assignments} WHERE id = %s"  # noqa: S608 - model column names only


_EVENT_COLUMNS = "(ticket_id, actor_id, kind, from_state, to_state, comment, data, created_at)"
# Timeline lines with no actor and no comment. Parameters: the creation time, the JSON array of
# lines ({"t": ticket id, "k": kind, "f": from state, "s": to state, "d": data}).
INSERT_LINES_FROM_JSON_SQL = (
    f"INSERT INTO {_table(TicketEvent)} {_EVENT_COLUMNS} "  # noqa: S608
    "SELECT v.t, NULL, v.k, v.f, v.s, '', v.d, %s "
    "FROM json_to_recordset(%s::json) AS v(t bigint, k text, f text, s text, d jsonb)"
)
# The same, one line per execution: ticket id, kind, from state, to state, data, creation time.
INSERT_LINE_SQL = f"INSERT INTO {_table(TicketEvent)} {_EVENT_COLUMNS} VALUES (%s, NULL, %s, %s, %s, '', %s, %s)"  # noqa: S608
# Whose turn it was, per turn row. Parameters: the array of agent ids, the array of turn ids.
SAVE_TURNS_FROM_ARRAYS_SQL = (
    f"UPDATE {_TURN} AS p SET last_agent_id = v.agent_id "  # noqa: S608
    "FROM unnest(%s::bigint[], %s::bigint[]) AS v(agent_id, id) WHERE p.id = v.id"
)
SAVE_TURN_SQL = f"UPDATE {_TURN} SET last_agent_id = %s WHERE id = %s"  # noqa: S608
# Lock (creating where missing) the turn rows of many (pool, group) pairs, in the order given so two
# sweeps cannot deadlock. PostgreSQL: the arrays of unit ids and group ids, locked in ORDER BY order.
TAKE_TURNS_FROM_ARRAYS_SQL = (
    f"INSERT INTO {_TURN} (unit_id, group_id) "  # noqa: S608
    "SELECT * FROM unnest(%s::bigint[], %s::bigint[]) AS v(unit_id, group_id) "
    "ORDER BY unit_id, group_id "
    "ON CONFLICT (unit_id, group_id) DO UPDATE SET unit_id = EXCLUDED.unit_id "
    "RETURNING id, unit_id, group_id, last_agent_id"
)


def take_turns_sql(pairs: int) -> str:
    """SQLite: the same for ``pairs`` (unit id, group id) pairs given as flat parameters."""
    values = ", ".join(["(%s, %s)"] * pairs)
    return (
        f"INSERT INTO {_TURN} (unit_id, group_id) VALUES {values} "  # noqa: S608 - placeholders only
        "ON CONFLICT (unit_id, group_id) DO UPDATE SET unit_id = EXCLUDED.unit_id "
        "RETURNING id, unit_id, group_id, last_agent_id"
    )
