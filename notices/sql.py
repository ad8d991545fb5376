"""The statistics statement of notices, in one place. Table names come from each model's
``_meta.db_table``; every value is a bound parameter. One text for PostgreSQL and SQLite.

It writes a notice's ``NoticeUnitStat`` rows in one INSERT … SELECT, inside the database, however large
the audience (a national notice: a million users and half a million schools), so nothing of the
audience passes through Python:

1. ``pos``: every position of an active user inside the publishing unit's subtree (its own unit with
   its user type's kind bit; each role's unit with the role's bit), with the unit's path and level;
2. ``hit``: the positions a target of the notice covers (the rule of notices.audience, in SQL);
3. ``direct``: per unit, the people of the audience there, how many have read, how many confirmed;
4. the rows: each unit with ``direct`` figures adds them to itself and to every unit above it up to
   the publishing unit (the prefixes of its path), grouped by unit.

A person covered in two units (a teacher who is also a county's publisher) counts in each.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import Model

from accounts.models import RoleAssignment, User
from orgtree.models import OrgUnit
from orgtree.selectors import path_range_filter

from .models import AudienceKind, NoticeRead, NoticeTarget, NoticeUnitStat, kind_bit


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _kind_case(column: str, kinds) -> str:
    # The values are our own choices (letters and underscores), written into the text as literals.
    whens = " ".join(f"WHEN '{kind}' THEN {kind_bit(kind)}" for kind in kinds)
    return f"CASE {column} {whens} ELSE 0 END"


def write_unit_stats(*, notice_id: int, unit_path: str, max_depth: int, computed_at: datetime) -> int:
    """Replace the notice's statistics rows; returns how many were written. The caller holds the
    notice's row lock, so two runs never interleave."""
    users, units, roles = _table(User), _table(OrgUnit), _table(RoleAssignment)
    targets, reads, stats = _table(NoticeTarget), _table(NoticeRead), _table(NoticeUnitStat)
    bounds = path_range_filter(unit_path)
    low, high = bounds["path__gte"], bounds["path__lte"]
    step = OrgUnit.steplen
    root_depth = len(unit_path) // step
    user_kinds = _kind_case("u.user_type", ("staff", "teacher", "student", "parent"))
    role_kinds = _kind_case(
        "r.role", [k for k in AudienceKind.values if k not in ("staff", "teacher", "student", "parent")]
    )
    depths = " UNION ALL ".join(f"SELECT {k} AS k" for k in range(root_depth, max_depth + 1))
    concat = "t.path || '%%'"
    sql = f"""
        INSERT INTO {stats} (notice_id, unit_id, path, depth, level, audience, "read", confirmed, computed_at)
        WITH pos AS (
            SELECT u.id AS user_id, o.id AS unit_id, o.path AS path, o.level AS level, {user_kinds} AS kbit
            FROM {users} u JOIN {units} o ON o.id = u.unit_id
            WHERE u.is_active AND o.path >= %s AND o.path <= %s
            UNION ALL
            SELECT r.user_id, o.id, o.path, o.level, {role_kinds}
            FROM {roles} r JOIN {units} o ON o.id = r.unit_id JOIN {users} u ON u.id = r.user_id
            WHERE u.is_active AND o.path >= %s AND o.path <= %s
        ),
        hit AS (
            SELECT DISTINCT pos.user_id, pos.unit_id, pos.path
            FROM pos JOIN {targets} t ON t.notice_id = %s
            WHERE (pos.path = t.path OR (t.subtree AND pos.path LIKE {concat}))
              AND (t.level_mask = 0 OR (t.level_mask & (1 << pos.level)) <> 0)
              AND (t.kind_mask = 0 OR (t.kind_mask & pos.kbit) <> 0)
        ),
        direct AS (
            SELECT hit.path AS path,
                   COUNT(DISTINCT hit.user_id) AS audience,
                   COUNT(DISTINCT r.user_id) AS nread,
                   COUNT(DISTINCT CASE WHEN r.confirmed_at IS NOT NULL THEN r.user_id END) AS nconfirmed
            FROM hit LEFT JOIN {reads} r ON r.notice_id = %s AND r.user_id = hit.user_id
            GROUP BY hit.path
        ),
        depths AS ({depths})
        SELECT %s, o.id, o.path, o.depth, o.level, SUM(d.audience), SUM(d.nread), SUM(d.nconfirmed), %s
        FROM direct d
        JOIN depths ON LENGTH(d.path) >= depths.k * {step}
        JOIN {units} o ON o.path = SUBSTR(d.path, 1, depths.k * {step})
        GROUP BY o.id, o.path, o.depth, o.level
    """  # noqa: S608 - table names from model metadata, kinds and numbers are ours; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {stats} WHERE notice_id = %s", [notice_id])  # noqa: S608
        cursor.execute(sql, [low, high, low, high, notice_id, notice_id, notice_id, computed_at])
        return cursor.rowcount


# The first key of the advisory locks that serialise one notice's statistics runs ("NO").
_STATS_LOCK_CLASS = 0x4E4F


def lock_notice_stats(notice_id: int) -> None:
    """Until the transaction ends, no other run counts this notice (PostgreSQL: an advisory lock, so
    the notice's row stays free for the reads that mark it stale; SQLite runs one writer at a time)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_STATS_LOCK_CLASS, notice_id])


def units_not_confirmed(*, notice_id: int, limit: int) -> list[str]:
    """Paths of the units where someone of the notice's audience (there, not below) has not confirmed
    it, in tree order, at most ``limit``: a unit's own figure is its row less its children's rows."""
    stats = _table(NoticeUnitStat)
    step = OrgUnit.steplen
    sql = f"""
        SELECT s.path FROM {stats} s
        LEFT JOIN (
            SELECT SUBSTR(c.path, 1, LENGTH(c.path) - {step}) AS parent, SUM(c.audience - c.confirmed) AS pending
            FROM {stats} c WHERE c.notice_id = %s
            GROUP BY SUBSTR(c.path, 1, LENGTH(c.path) - {step})
        ) k ON k.parent = s.path
        WHERE s.notice_id = %s AND s.audience - s.confirmed > COALESCE(k.pending, 0)
        ORDER BY s.path
        LIMIT %s
    """  # noqa: S608 - the table name from model metadata, the step a number; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [notice_id, notice_id, limit])
        return [path for (path,) in cursor.fetchall()]
