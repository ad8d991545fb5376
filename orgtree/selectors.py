"""Reads of the org tree. The directory of units is visible to every signed-in user (manual 2.3.4)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

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
    query = query.strip()
    if query.isdigit():
        return OrgUnit.objects.filter(code__startswith=query).order_by("code")
    return OrgUnit.objects.filter(name__startswith=query).order_by("path")


def subtree_filter(unit: OrgUnit, prefix: str = "") -> dict[str, str]:
    """Keyword filter that keeps rows whose unit lies in ``unit``'s subtree (itself included)."""
    return {f"{prefix}path__startswith": unit.path}
