"""Database helpers shared by the selectors of several apps."""

from __future__ import annotations

import functools
import re
import time

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import QuerySet


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string above every string that starts with ``prefix`` (code-point order)."""
    code = ord(prefix[-1]) + 1
    if 0xD800 <= code <= 0xDFFF:  # surrogates cannot be stored; skip to the next real character
        code = 0xE000
    return prefix[:-1] + chr(code) if code <= 0x10FFFF else None


CODE_POINT_COLLATIONS = {"C", "POSIX", "C.UTF-8", "C.utf8"}
_collation_cache: dict[tuple[str, str], bool] = {}


def orders_by_code_point() -> bool:
    """Whether the database compares text by code point (SQLite; PostgreSQL in C or C.UTF-8)."""
    if connection.vendor != "postgresql":
        return connection.vendor == "sqlite"
    key = (connection.alias, str(connection.settings_dict.get("NAME")))
    if key not in _collation_cache:
        with connection.cursor() as cursor:
            cursor.execute("SELECT datcollate FROM pg_database WHERE datname = current_database()")
            row = cursor.fetchone()
        _collation_cache[key] = bool(row) and row[0] in CODE_POINT_COLLATIONS
    return _collation_cache[key]


def fetch_prepared(sql: str, params: list, *, many: bool = False):
    """Run a hot statement whose plan does not depend on its parameters as a prepared statement.

    Django's psycopg cursors bind parameters on the client, so PostgreSQL parses and plans every
    query again (0.3–0.7 ms for a join or a CTE, more than running it). This runs ``sql`` on the
    request's own connection and transaction through a server-binding cursor, prepared once per
    pooled connection, and wrapped like any Django cursor (query logging and counting see it).
    Elsewhere (SQLite) it is an ordinary query. Returns the first row, or all rows with ``many``.
    """
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the proxy that looks it up each time
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if many else cursor.fetchone()
    db.ensure_connection()
    if not db.queries_logged and not db.execute_wrappers:
        # What Django's cursor wrapper would do for this one statement (refuse a broken transaction,
        # raise Django's exceptions), without its layers: ~25 µs of the ~125 µs a call costs here,
        # and a ticket create makes two such calls.
        db.validate_no_broken_transaction()
        with db.wrap_database_errors:
            cursor = _PreparingCursor(db.connection)
            try:
                cursor.execute(_numbered_placeholders(sql), params)
                return cursor.fetchall() if many else cursor.fetchone()
            finally:
                cursor.close()
    started = time.monotonic()
    with db.make_cursor(_PreparingCursor(db.connection)) as cursor:
        cursor.execute(_numbered_placeholders(sql), params)
        result = cursor.fetchall() if many else cursor.fetchone()
    if db.queries_logged:
        # Django's debug cursor reads the statement back from the cursor, which a prepared one lacks.
        db.queries_log.append({"sql": db.ops.compose_sql(sql, params), "time": f"{time.monotonic() - started:.3f}"})
    return result


def rows_with_native_timestamps(rows: QuerySet) -> list[tuple]:
    """All rows of a ``values_list`` queryset, with timestamptz read by psycopg's compiled loader on
    PostgreSQL. Django registers a loader written in Python for every timestamptz (it replaces the
    tzinfo with its own UTC), ~7 µs a value: for the SLA sweep's thousand due tickets and their dozen
    clock columns, ~60 ms against ~15 ms. The values are the same instants, aware, in the session's
    time zone (UTC, as Django sets it). Elsewhere (SQLite) the queryset as it is."""
    if connection.vendor != "postgresql":
        return list(rows)
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", _compiled_timestamptz_loader())
        cursor.execute(sql, params)
        return cursor.fetchall()


@functools.cache
def _compiled_timestamptz_loader() -> type:
    return psycopg.adapters.get_loader(psycopg.adapters.types["timestamptz"].oid, psycopg.pq.Format.TEXT)


class _PreparingCursor(psycopg.RawCursor):
    """Binds on the server and prepares every statement it runs (see fetch_prepared). A raw cursor:
    the statement comes with PostgreSQL's own ``$n`` placeholders (``_numbered_placeholders``)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


_PLACEHOLDER = re.compile(r"%%|%s")


@functools.lru_cache(maxsize=256)
def _numbered_placeholders(sql: str) -> str:
    """``sql`` with ``%s`` as ``$1``, ``$2`` … and ``%%`` as ``%``, converted once per text. psycopg
    converts a statement's placeholders on every execution and caches the result only for statements
    under 4 kB (its MAX_CACHED_STATEMENT_LENGTH): the ticket create's is longer, and converting it
    cost each create ~0.1 ms."""
    numbers = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda m: "%" if m.group() == "%%" else f"${next(numbers)}", sql)
