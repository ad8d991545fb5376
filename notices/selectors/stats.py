"""Reads of a notice's statistics: for its author and the publishing unit's superiors only
(``is_manager_of``), anyone else gets a 404. The per-unit rows are the statistics task's
(``NoticeUnitStat``); the lists of people who have not read are read live, one unit at a time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.scope import path_in_subtree
from orgtree.models import OrgUnit
from orgtree.selectors import path_range_filter

from ..audience import Position, target_covers
from ..models import DELIVERED_STATES, AudienceKind, Notice, NoticeRead, NoticeUnitStat
from . import is_manager_of, target_specs

USER_TYPES = ("staff", "teacher", "student", "parent")


@dataclass(frozen=True)
class StatRow:
    unit: OrgUnit
    level: int | None
    audience: int
    read: int
    confirmed: int
    has_children: bool

    @property
    def read_rate(self) -> float:
        return round(self.read / self.audience, 4) if self.audience else 0.0

    @property
    def confirm_rate(self) -> float:
        return round(self.confirmed / self.audience, 4) if self.audience else 0.0


@dataclass(frozen=True)
class Stats:
    unit: StatRow | None
    children: list[StatRow]
    computed_at: datetime | None
    stale: bool
    read_total: int
    confirmed_total: int


def _check(user: User, notice: Notice) -> None:
    if not is_manager_of(user, notice) or notice.state not in DELIVERED_STATES:
        raise Http404(_("No statistics for this notice."))


def drill_unit(*, notice: Notice, unit: OrgUnit | None) -> OrgUnit:
    """The unit to drill into: the publishing unit by default, never one outside its subtree (404)."""
    if unit is None:
        return notice.unit
    if not path_in_subtree(unit.path, notice.unit_path):
        raise Http404(_("No statistics for this unit."))
    return unit


def _rows(stats: QuerySet[NoticeUnitStat]) -> list[StatRow]:
    rows = list(stats.select_related("unit").order_by("path"))
    if not rows:
        return []
    # Whether each row has children rows: one query over the next depth's rows of the same range.
    depth = rows[0].depth
    below = NoticeUnitStat.objects.filter(
        notice_id=rows[0].notice_id, depth=depth + 1, path__gte=rows[0].path, path__lte=rows[-1].path + "Z" * 40
    ).values_list("path", flat=True)
    parents = {path[: len(path) - OrgUnit.steplen] for path in below}
    return [StatRow(row.unit, row.level, row.audience, row.read, row.confirmed, row.path in parents) for row in rows]


def notice_stats(*, user: User, notice: Notice, unit: OrgUnit | None = None) -> Stats:
    """A unit's figures (its subtree) and those of each unit one level down: the drill-down."""
    _check(user, notice)
    unit = drill_unit(notice=notice, unit=unit)
    own = _rows(NoticeUnitStat.objects.filter(notice=notice, unit=unit))
    children = _rows(NoticeUnitStat.objects.filter(notice=notice, depth=unit.depth + 1, **path_range_filter(unit.path)))
    reads = NoticeRead.objects.filter(notice=notice)
    return Stats(
        unit=own[0] if own else None,
        children=children,
        computed_at=notice.stats_computed_at,
        stale=notice.stats_stale,
        read_total=reads.count(),
        confirmed_total=reads.filter(confirmed_at__isnull=False).count(),
    )


def _done_field(notice: Notice) -> str:
    # A notice that asks for a receipt is done when confirmed; any other when read.
    return "confirmed" if notice.receipt_required else "read"


def pending_units(
    *, user: User, notice: Notice, unit: OrgUnit | None = None, level: int | None = None
) -> QuerySet[NoticeUnitStat]:
    """Units below ``unit`` (or of ``level`` in its subtree) where someone of the audience has not read
    (or, for a receipt notice, confirmed), in tree order."""
    _check(user, notice)
    unit = drill_unit(notice=notice, unit=unit)
    rows = NoticeUnitStat.objects.filter(notice=notice, **path_range_filter(unit.path)).filter(
        audience__gt=F(_done_field(notice))
    )
    rows = rows.filter(level=level) if level is not None else rows.filter(depth=unit.depth + 1)
    # A unit has one row per notice, so the path alone orders them: the index's own order, read up
    # to the page's end (a national notice has half a million school rows).
    return rows.select_related("unit").order_by("path")


def pending_users(*, user: User, notice: Notice, unit: OrgUnit) -> QuerySet[User]:
    """People of the audience whose own unit (or role's unit) is ``unit`` and who have not read (or
    confirmed) the notice: one unit's people, by id."""
    _check(user, notice)
    unit = drill_unit(notice=notice, unit=unit)
    allowed = _kinds_at(notice, unit)
    if allowed is None:
        return User.objects.none()
    types = [kind for kind in allowed if kind in USER_TYPES]
    roles = [kind for kind in allowed if kind not in USER_TYPES]
    people = Q(unit=unit, user_type__in=types) | Q(pk__in=_role_holders(unit, roles))
    done = NoticeRead.objects.filter(notice=notice)
    if notice.receipt_required:
        done = done.filter(confirmed_at__isnull=False)
    reads = NoticeRead.objects.filter(notice=notice, user=OuterRef("pk"))
    return (
        User.objects.filter(people, is_active=True)
        .exclude(pk__in=done.values("user_id"))
        .annotate(read=Exists(reads), unit_name=F("unit__name"))
        .order_by("id")
    )


def _role_holders(unit: OrgUnit, roles: list[str]):
    from accounts.models import RoleAssignment

    return RoleAssignment.objects.filter(unit=unit, role__in=roles).values("user_id")


def _kinds_at(notice: Notice, unit: OrgUnit) -> list[str] | None:
    """The kinds of people the notice reaches in ``unit`` (None: nobody there)."""
    every = (1 << len(AudienceKind.values)) - 1
    position = Position(unit.path, unit.level, every)
    mask = 0
    reached = False
    for target in target_specs(notice):
        if target_covers(target, position):
            reached = True
            mask |= target.kind_mask or every
    if not reached:
        return None
    return [kind for index, kind in enumerate(AudienceKind.values) if mask & (1 << index)]


def export_rows(*, user: User, notice: Notice, unit: OrgUnit | None = None) -> Iterator[StatRow]:
    """Every unit row of the subtree, in tree order, read in chunks (a national notice has many)."""
    _check(user, notice)
    unit = drill_unit(notice=notice, unit=unit)
    rows = (
        NoticeUnitStat.objects.filter(notice=notice, **path_range_filter(unit.path))
        .select_related("unit")
        .order_by("path")
    )
    for row in rows.iterator(chunk_size=2000):
        yield StatRow(row.unit, row.level, row.audience, row.read, row.confirmed, False)
