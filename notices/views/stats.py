"""A notice's read statistics (阅读统计) for its author and the publishing unit's superiors: read
counts and rates of a unit's subtree and of each unit one level down (drill down province → city →
county → school with ``?unit=``), a bar chart drawn in CSS, the units and the people that have not
read (or confirmed), CSV/XLSX export, and 催阅. Figures are the statistics task's rows; anyone else
gets a 404 from the selectors."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from orgtree.models import OrgUnit

from .. import selectors
from ..exports import stats_export_response
from ..models import DELIVERED_STATES
from ..selectors import stats as stats_selectors
from .pages import nav_context


def _unit(raw) -> OrgUnit | None:
    if raw in (None, ""):
        return None
    if not str(raw).isdigit():
        raise Http404(_("No statistics for this unit."))
    unit = OrgUnit.objects.filter(pk=int(raw)).first()
    if unit is None:
        raise Http404(_("No statistics for this unit."))
    return unit


def _stats_notice(request: HttpRequest, pk: int):
    notice = selectors.notice_get(user=request.user, pk=pk)
    if notice.state not in DELIVERED_STATES:
        raise Http404(_("No statistics before the notice is published."))
    return notice


@login_required
def notice_stats(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    notice = _stats_notice(request, pk)
    unit = _unit(request.GET.get("unit"))
    found = stats_selectors.notice_stats(user=user, notice=notice, unit=unit)
    here = stats_selectors.drill_unit(notice=notice, unit=unit)
    trail = [
        u
        for u in OrgUnit.objects.filter(path__in=_ancestors(here.path)).order_by("depth")
        if u.depth >= notice.unit.depth
    ]
    pending = Paginator(stats_selectors.pending_units(user=user, notice=notice, unit=here), 50).get_page(
        request.GET.get("pu")
    )
    people_unit = _unit(request.GET.get("people"))
    people = None
    if people_unit is not None:
        people = Paginator(stats_selectors.pending_users(user=user, notice=notice, unit=people_unit), 50).get_page(
            request.GET.get("pp")
        )
    children = sorted(found.children, key=lambda row: (row.read_rate, row.unit.path))
    context = {
        "notice": notice,
        "stats": found,
        "here": here,
        "trail": trail,
        "children": found.children,
        "chart": children[:30],
        "pending": pending,
        "people_unit": people_unit,
        "people": people,
        "caps": selectors.capabilities(user=user, notice=notice),
        "done_label": _("Confirmed") if notice.receipt_required else _("Read"),
        **nav_context(user),
    }
    return render(request, "notices/stats.html", context)


def _ancestors(path: str) -> list[str]:
    step = OrgUnit.steplen
    return [path[:end] for end in range(step, len(path) + 1, step)]


@login_required
def stats_export(request: HttpRequest, pk: int) -> HttpResponse:
    notice = _stats_notice(request, pk)
    fmt = request.GET.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        raise Http404(_("No such format."))
    unit = _unit(request.GET.get("unit"))
    rows = stats_selectors.export_rows(user=request.user, notice=notice, unit=unit)
    return stats_export_response(notice, rows, fmt=fmt)
