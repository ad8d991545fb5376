"""Reads of the org tree. The directory of units is visible to every signed-in user (manual 2.3.4)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from helpdesk.core.db import orders_by_code_point, prefix_upper_bound

from .models import OrgUnit


def unit_roots() -> QuerySet[OrgUnit]:
    return OrgUnit.objects.filter(depth=1).order_by("path")


def unit_children(*, unit: OrgUnit) -> QuerySet[OrgUnit]:
    # treebeard's get_children is a range scan on the unique path index.
    return OrgUnit.objects.get_children(unit)


def unit_get(*, unit_id: int) -> OrgUnit:
    return get_object_or_404(OrgUnit, pk=unit_id)


def unit_ancestors(*, unit: OrgUnit) -> list[OrgUnit]:
    """The chain from the root down to ``unit`` itself, one indexed query."""
    steplen = OrgUnit.steplen
    paths = [unit.path[: steplen * depth] for depth in range(1, unit.depth + 1)]
    return list(OrgUnit.objects.filter(path__in=paths).order_by("depth"))


def unit_search(*, query: str) -> QuerySet[OrgUnit]:
    """Units whose code (digits) or name starts with ``query``, in code or name order.

    The prefix is also given as a range so the (name, path) / code index serves filter and order
    together and a page stops early, as in the user directory search.
    """
    query = query.strip()[:100]
    if not query:
        return OrgUnit.objects.none()
    field, ordering = ("code", ("code",)) if query.isdigit() else ("name", ("name", "path"))
    return _starting_with(OrgUnit.objects.all(), field, query).order_by(*ordering)


def unit_directory_search(*, query: str) -> QuerySet[OrgUnit]:
    """The directory's unit search (``unit_search``), where a query of Latin letters matches the
    name's pinyin (haidian), or when no unit's pinyin starts with it, the initials (hdq): one index
    range either way, in that column's order, so a page stops after its rows."""
    needle = (query or "").strip()
    if needle.isascii() and needle.isalpha():
        by_pinyin = unit_pinyin_search(query=needle)
        return by_pinyin if by_pinyin.exists() else unit_pinyin_search(query=needle, initials=True)
    return unit_search(query=needle)


def _starting_with(units: QuerySet[OrgUnit], field: str, prefix: str) -> QuerySet[OrgUnit]:
    upper = prefix_upper_bound(prefix)
    if upper is not None:
        units = units.filter(**{f"{field}__gte": prefix, f"{field}__lt": upper})
    if upper is None or not orders_by_code_point():
        # Only where the range is not exact; both together mislead PostgreSQL's row estimate.
        units = units.filter(**{f"{field}__startswith": prefix})
    return units


def unit_pinyin_search(
    *, query: str, initials: bool = False, units: QuerySet[OrgUnit] | None = None
) -> QuerySet[OrgUnit]:
    """Units of ``units`` (all by default) whose name's pinyin, or with ``initials`` its pinyin
    initials, starts with ``query`` (haidian, hdq; any case), in that order.

    A range on the (name_pinyin, path) or (name_initials, path) index: a page stops after its rows
    however many units match, and a subtree filter on ``units`` (path ranges) is checked in the index.
    """
    needle = "".join(char for char in (query or "").lower() if char.isascii() and char.isalnum())[:100]
    base = OrgUnit.objects.all() if units is None else units
    if not needle:
        return base.none()
    field = "name_initials" if initials else "name_pinyin"
    return _starting_with(base, field, needle).order_by(field, "path")


def subtree_range_filter(unit: OrgUnit, prefix: str = "") -> dict[str, str]:
    """Rows whose unit lies in ``unit``'s subtree (itself included), as a range the plain path index
    serves in path order.

    ``LIKE 'prefix%'`` only uses the varchar_pattern_ops index, whose order is not the column's
    (unless the database collation is exactly "C"), so ``ORDER BY path LIMIT n`` over a big subtree
    had to fetch and sort it all (100 ms and up at national scale). Paths only hold 0-9 and A-Z,
    so every descendant lies between the path itself and the path padded with Z.
    """
    return path_range_filter(unit.path, prefix)


def path_range_filter(path: str, prefix: str = "") -> dict[str, str]:
    """``subtree_range_filter`` for a path held elsewhere, e.g. a ticket's copy of its unit's path
    (``prefix="unit_"`` filters ``unit_path``)."""
    padding = OrgUnit._meta.get_field("path").max_length - len(path)
    return {f"{prefix}path__gte": path, f"{prefix}path__lte": path + "Z" * padding}


def with_parent_pk(queryset: QuerySet[OrgUnit]) -> QuerySet[OrgUnit]:
    """Annotate ``parent_pk``: the parent is the row whose path is ours minus one step, found by
    the unique path index (one lookup per row of a page; roots get None)."""
    from django.db.models import OuterRef, Subquery
    from django.db.models.functions import Length, Substr

    parent_path = Substr(OuterRef("path"), 1, Length(OuterRef("path")) - OrgUnit.steplen)
    parent = OrgUnit.objects.filter(path=parent_path).values("pk")[:1]
    return queryset.annotate(parent_pk=Subquery(parent))
