"""Ticket reports (seed 003 报表): volume, backlog, first-response and resolution SLA compliance and
satisfaction, grouped by unit (each child unit with its whole subtree), pool level, type, priority
or period.

One report is one aggregate query over the ticket table with conditional counts, however many rows
it has; the unit dimension adds one indexed lookup of the child units' names. The subtree filter is
a range on ``unit_path`` (the asker's unit path copied onto the ticket), so a province's report never
joins or loads its 100,000 schools.

Who may report: unit administrators (supervisors), support agents and answer reviewers, each over
the subtrees of the units they hold those roles in; superusers over everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, DateTimeField, F, Q, QuerySet, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, Substr, TruncDay, TruncMonth, TruncWeek
from django.http import Http404
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role, User
from accounts.scope import path_in_subtree, scope_of, subtrees_q
from orgtree.models import OrgLevel, OrgUnit

from ..models import OPEN_STATES, Priority, Rating, Ticket, TicketType
from ..self_service import self_solved_counter

# The roles that see the tickets of a subtree, and so its figures.
REPORT_ROLES = (Role.UNIT_ADMIN, Role.SUPPORT_AGENT, Role.ANSWER_REVIEWER)

GROUP_BY_CHOICES = [
    ("unit", gettext_lazy("Unit")),
    ("level", gettext_lazy("Handling level")),
    ("type", gettext_lazy("Type")),
    ("priority", gettext_lazy("Priority")),
    ("period", gettext_lazy("Period")),
]
PERIOD_CHOICES = [
    ("day", gettext_lazy("Day")),
    ("week", gettext_lazy("Week")),
    ("month", gettext_lazy("Month")),
]
# A report spans at most this many days, so its aggregate reads a bounded slice of the table.
MAX_SPAN_DAYS = 400
# Daily rows beyond a quarter make an unreadable table and chart; weeks and months cover the rest.
MAX_DAILY_SPAN_DAYS = 92
DEFAULT_SPAN_DAYS = 30
# Days outside these hold no tickets, and year 1 or 9999 would overflow the day arithmetic.
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2099, 12, 31)
# What the API's schema and the portal's form say of the range (the same words as the error).
DAY_RANGE_TEXT = format_lazy(
    gettext_lazy("Between {first} and {last}."), first=EARLIEST_DAY.isoformat(), last=LATEST_DAY.isoformat()
)
# The largest id a database integer holds; a bigger one is bad input, not a lookup.
MAX_ID = 2**63 - 1

COUNT_FIELDS = (
    "total",
    "backlog",
    "resolved",
    "response_met",
    "response_breached",
    "resolution_met",
    "resolution_breached",
    "rated",
    "very_satisfied",
    "satisfied",
    "neutral",
    "dissatisfied",
)
RATE_FIELDS = ("response_rate", "resolution_rate", "satisfaction_rate")

# The columns of the portal table and of both exports, in order: (key, header, "count" | "rate").
REPORT_COLUMNS: list[tuple[str, Any, str]] = [
    ("total", gettext_lazy("Tickets"), "count"),
    ("backlog", gettext_lazy("Open (backlog)"), "count"),
    ("resolved", gettext_lazy("Resolved"), "count"),
    ("response_rate", gettext_lazy("First response on time"), "rate"),
    ("response_breached", gettext_lazy("First response late"), "count"),
    ("resolution_rate", gettext_lazy("Resolved on time"), "rate"),
    ("resolution_breached", gettext_lazy("Resolution late"), "count"),
    ("rated", gettext_lazy("Rated"), "count"),
    ("very_satisfied", gettext_lazy("Very satisfied"), "count"),
    ("satisfied", gettext_lazy("Satisfied"), "count"),
    ("neutral", gettext_lazy("Neutral"), "count"),
    ("dissatisfied", gettext_lazy("Dissatisfied"), "count"),
    ("satisfaction_rate", gettext_lazy("Satisfaction rate"), "rate"),
]


@dataclass
class TicketReport:
    unit: OrgUnit
    group_by: str
    period: str
    date_from: date
    date_to: date
    type: str = ""
    priority: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    # Questions readers in the subtree closed with an article instead of a ticket in the period
    # (这解决了我的问题); None when the user may not see it (only the unit's administrators do).
    self_solved: int | None = None

    @property
    def group_label(self) -> str:
        return str(dict(GROUP_BY_CHOICES)[self.group_by])


# --- Scope ---------------------------------------------------------------------------------------
def report_scope_units(*, user: User) -> list[OrgUnit]:
    """The top units of ``user``'s report scope in tree order (a unit inside another is dropped): the
    tree's roots for a superuser, else the units of its report roles' subtrees (``scope_of``)."""
    if user.is_superuser:
        return list(OrgUnit.objects.filter(depth=1).order_by("path"))
    paths = scope_of(user).paths(*REPORT_ROLES)
    return list(OrgUnit.objects.filter(path__in=paths).order_by("path")) if paths else []


def can_view_reports(*, user: User) -> bool:
    if not user.is_authenticated:
        return False
    # A superuser's scope is the tree's roots: there is something to report on once a root exists.
    if user.is_superuser:
        return OrgUnit.objects.filter(depth=1).exists()
    return scope_of(user).holds(*REPORT_ROLES)


def report_unit_in_scope(*, user: User, unit: OrgUnit) -> bool:
    # Every unit lies below one of the roots a superuser reports on.
    return user.is_superuser or scope_of(user).covers(unit.path, *REPORT_ROLES)


def report_unit_get(*, user: User, unit_id: int | None = None) -> OrgUnit:
    """The unit to report on: ``unit_id`` if it lies in the user's scope (else 404, as for any id
    one may not see), or by default the highest unit of the scope."""
    scope = report_scope_units(user=user)
    if not scope:
        raise PermissionDenied(_("Reports are for supervisors, support agents and reviewers."))
    if unit_id is None:
        return min(scope, key=lambda unit: (unit.depth, unit.path))
    unit = OrgUnit.objects.filter(pk=unit_id).first()
    if unit is None or not report_unit_in_scope(user=user, unit=unit):
        raise Http404(_("No unit in your scope has this id."))
    return unit


def report_unit_chain(*, user: User, unit: OrgUnit) -> list[OrgUnit]:
    """The units from the top of the user's scope down to ``unit`` (for a breadcrumb): one query."""
    step = OrgUnit.steplen
    if user.is_superuser:
        top = unit.path[:step]  # the root above the unit
    else:
        tops = scope_of(user).paths(*REPORT_ROLES)
        top = next((top for top in tops if path_in_subtree(unit.path, top)), unit.path)
    paths = [unit.path[:length] for length in range(len(top), len(unit.path) + 1, step)]
    return list(OrgUnit.objects.filter(path__in=paths).order_by("depth"))


# --- Parameters ----------------------------------------------------------------------------------
def report_params(data: Mapping[str, Any]) -> dict[str, Any]:
    """The report's parameters (``ticket_report``'s and ``report_validate``'s keywords) out of a
    portal form's or an API query's cleaned data: days not given stay None (``report_dates`` fills
    them), an empty type or priority means all."""
    return {
        "group_by": data["group_by"],
        "period": data["period"],
        "date_from": data.get("date_from"),
        "date_to": data.get("date_to"),
        "type": data.get("type", ""),
        "priority": data.get("priority", ""),
    }


def report_dates(date_from: date | None = None, date_to: date | None = None) -> tuple[date, date]:
    """Fill in the days not given: the end defaults to today, the start to 30 days before the end."""
    date_to = date_to or timezone.localdate()
    if date_from is None:
        try:
            date_from = date_to - timedelta(days=DEFAULT_SPAN_DAYS - 1)
        except OverflowError:  # year 1: report_validate refuses it with a message
            date_from = date_to
    return date_from, date_to


def report_validate(
    *, group_by: str, period: str, date_from: date, date_to: date, type: str = "", priority: str = ""
) -> None:
    """Refuse parameters that make no report, with a message per field."""
    errors: dict[str, list[str]] = {}
    if group_by not in dict(GROUP_BY_CHOICES):
        errors["group_by"] = [_("Choose unit, level, type, priority or period.")]
    if period not in dict(PERIOD_CHOICES):
        errors["period"] = [_("Choose day, week or month.")]
    if type and type not in TicketType.values:
        errors["type"] = [_("Choose a valid type.")]
    if priority and priority not in Priority.values:
        errors["priority"] = [_("Choose a valid priority.")]
    for name, day in (("date_from", date_from), ("date_to", date_to)):
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            errors[name] = [
                _("Choose a day between %(first)s and %(last)s.")
                % {"first": EARLIEST_DAY.isoformat(), "last": LATEST_DAY.isoformat()}
            ]
    days = (date_to - date_from).days + 1
    if "date_from" in errors or "date_to" in errors:
        pass  # a day out of range says enough
    elif days < 1:
        errors["date_to"] = [_("The end date is before the start date.")]
    elif days > MAX_SPAN_DAYS:
        errors["date_to"] = [_("A report covers at most %(days)d days.") % {"days": MAX_SPAN_DAYS}]
    elif group_by == "period" and period == "day" and days > MAX_DAILY_SPAN_DAYS:
        errors["period"] = [
            _("Daily figures cover at most %(days)d days; choose weeks or months.") % {"days": MAX_DAILY_SPAN_DAYS}
        ]
    if errors:
        raise ValidationError(errors)


# --- The report ----------------------------------------------------------------------------------
def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def _subtree_tickets(unit: OrgUnit) -> QuerySet[Ticket]:
    return Ticket.objects.filter(subtrees_q([unit.path], "unit_path"))


def _measures(now: datetime) -> dict[str, Count]:
    now_value = Value(now, output_field=DateTimeField())
    # A deadline is only missed while the clock runs: waiting on the asker stops it at paused_at, and
    # a ticket closed before it was resolved (withdrawn, invalid, merged) at closed_at, for good.
    clock_stop = Coalesce(F("paused_at"), F("closed_at"), now_value)
    return {
        "total": Count("id"),
        "backlog": Count("id", filter=Q(state__in=OPEN_STATES)),
        "resolved": Count("id", filter=Q(resolved_at__isnull=False)),
        "response_met": Count("id", filter=Q(first_response_at__lte=F("response_due_at"))),
        "response_breached": Count(
            "id",
            filter=Q(first_response_at__gt=F("response_due_at"))
            | Q(first_response_at__isnull=True, response_due_at__lt=clock_stop),
        ),
        "resolution_met": Count("id", filter=Q(resolved_at__lte=F("resolution_due_at"))),
        "resolution_breached": Count(
            "id",
            filter=Q(resolved_at__gt=F("resolution_due_at"))
            | Q(resolved_at__isnull=True, resolution_due_at__lt=clock_stop),
        ),
        "rated": Count("id", filter=Q(rating__in=Rating.values)),
        "very_satisfied": Count("id", filter=Q(rating=Rating.VERY_SATISFIED)),
        "satisfied": Count("id", filter=Q(rating=Rating.SATISFIED)),
        "neutral": Count("id", filter=Q(rating=Rating.NEUTRAL)),
        "dissatisfied": Count("id", filter=Q(rating=Rating.DISSATISFIED)),
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _with_rates(row: dict[str, Any]) -> dict[str, Any]:
    # Compliance counts the tickets whose outcome is known: met, or missed (late or overdue now);
    # a ticket still inside its deadline counts for neither.
    row["response_rate"] = _rate(row["response_met"], row["response_met"] + row["response_breached"])
    row["resolution_rate"] = _rate(row["resolution_met"], row["resolution_met"] + row["resolution_breached"])
    row["satisfaction_rate"] = _rate(row["very_satisfied"] + row["satisfied"], row["rated"])
    return row


def _empty_counts() -> dict[str, int]:
    return dict.fromkeys(COUNT_FIELDS, 0)


def _group_expression(unit: OrgUnit, group_by: str, period: str) -> Combinable:
    if group_by == "unit":
        # The child unit a ticket belongs under is the first step of its path below ``unit``; a
        # ticket of ``unit`` itself keeps the shorter path and forms its own row.
        return Substr("unit_path", 1, len(unit.path) + OrgUnit.steplen)
    if group_by == "level":
        return F("pool_unit__level")
    if group_by == "period":
        trunc = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}[period]
        return trunc("created_at", tzinfo=timezone.get_default_timezone())
    return F(group_by)


def _period_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def _next_period(start: date, period: str) -> date:
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def _period_label(start: date, period: str) -> str:
    if period == "month":
        return start.strftime("%Y-%m")
    if period == "week":
        return _("Week of %(date)s") % {"date": start.isoformat()}
    return start.isoformat()


# Rows of the other dimensions name no unit; every row has the same keys.
NO_UNIT = {"unit_id": None, "has_children": False}


def _rows_by_unit(unit: OrgUnit, found: dict[Any, dict]) -> list[dict[str, Any]]:
    children = {
        child.path: child for child in OrgUnit.objects.filter(path__in=[key for key in found if key != unit.path])
    }
    rows = []
    for key in sorted(found):
        counts = found[key]
        if key == unit.path:
            rows.append(
                {
                    "key": "self",
                    "label": _("%(unit)s (own tickets)") % {"unit": unit.name},
                    "unit_id": unit.pk,
                    "has_children": False,
                    **counts,
                }
            )
        elif key in children:
            child = children[key]
            rows.append(
                {
                    "key": str(child.pk),
                    "label": child.name,
                    "unit_id": child.pk,
                    "has_children": not child.is_leaf(),
                    **counts,
                }
            )
    return rows


def _rows_by_choice(found: dict[Any, dict], choices: list[tuple[Any, Any]], none_label: str) -> list[dict[str, Any]]:
    rows = []
    for value, label in choices:
        if value in found:
            rows.append({"key": str(value), "label": str(label), **NO_UNIT, **found[value]})
    if None in found:
        rows.append({"key": "", "label": none_label, **NO_UNIT, **found[None]})
    return rows


def _rows_by_period(found: dict[Any, dict], period: str, date_from: date, date_to: date) -> list[dict[str, Any]]:
    tz = timezone.get_default_timezone()
    by_start: dict[date, dict] = {}
    for key, counts in found.items():
        start = key.astimezone(tz).date() if isinstance(key, datetime) else key
        by_start[start] = counts
    rows = []
    # Every bucket of the span, empty ones too: a quiet week is a fact the chart should show.
    start = _period_start(date_from, period)
    while start <= date_to:
        counts = by_start.get(start) or _empty_counts()
        rows.append({"key": start.isoformat(), "label": _period_label(start, period), **NO_UNIT, **counts})
        start = _next_period(start, period)
    return rows


def ticket_report(
    *,
    user: User,
    unit: OrgUnit,
    group_by: str = "unit",
    period: str = "month",
    date_from: date | None = None,
    date_to: date | None = None,
    type: str = "",
    priority: str = "",
    now: datetime | None = None,
) -> TicketReport:
    """The figures of the tickets asked in ``unit``'s subtree between two days (inclusive, local
    time), one row per group plus totals. Raises Http404 outside the user's scope, ValidationError
    on bad parameters."""
    if not report_unit_in_scope(user=user, unit=unit):
        raise Http404(_("No unit in your scope has this id."))
    date_from, date_to = report_dates(date_from, date_to)
    report_validate(
        group_by=group_by, period=period, date_from=date_from, date_to=date_to, type=type, priority=priority
    )
    now = now or timezone.now()

    since, until = _day_start(date_from), _day_start(date_to + timedelta(days=1))
    tickets = _subtree_tickets(unit).filter(created_at__gte=since, created_at__lt=until)
    if type:
        tickets = tickets.filter(type=type)
    if priority:
        tickets = tickets.filter(priority=priority)
    aggregate = (
        tickets.annotate(group_key=_group_expression(unit, group_by, period))
        .values("group_key")
        .annotate(**_measures(now))
        .order_by("group_key")
    )
    found = {row.pop("group_key"): row for row in aggregate}

    if group_by == "unit":
        rows = _rows_by_unit(unit, found)
    elif group_by == "level":
        rows = _rows_by_choice(found, list(OrgLevel.choices), _("Not yet in a support pool"))
    elif group_by == "type":
        rows = _rows_by_choice(found, list(TicketType.choices), _("Unknown"))
    elif group_by == "priority":
        rows = _rows_by_choice(found, list(Priority.choices), _("Unknown"))
    else:
        rows = _rows_by_period(found, period, date_from, date_to)

    totals = _empty_counts()
    for row in rows:
        _with_rates(row)
        for name in COUNT_FIELDS:
            totals[name] += row[name]
    return TicketReport(
        unit=unit,
        group_by=group_by,
        period=period,
        date_from=date_from,
        date_to=date_to,
        type=type,
        priority=priority,
        rows=rows,
        totals=_with_rates(totals),
        # Not narrowed by type or priority: a question answered by an article has neither.
        self_solved=self_solved_counter().self_solved_count(user=user, unit_path=unit.path, since=since, until=until),
    )
