"""Working-time arithmetic for SLA deadlines (seed 004: a P3 question is answered within 8 working hours).

Working time is the schedule's morning and afternoon periods on working days, in China's local time
(Asia/Shanghai, which has had no daylight saving since 1991, so wall-clock arithmetic is exact).
Whether a day is a working day is decided, in this order, by:

1. an administrator's CalendarOverride for that day (a local holiday, a makeup day);
2. the official calendar from the ``chinese-calendar`` package, with its holidays and adjusted working
   days (调休);
3. for a year the package has no data for (it ships each year's calendar once the State Council
   publishes it), Monday to Friday. Nothing here fails for such a year: the admin warns instead, so
   that someone enters that year's holidays as overrides (see ``calendar_years_unknown``).

Only ``load_calendar``, ``default_schedule`` and ``compute_deadline`` touch the database. The rest is
pure: callers pass the schedule and the overrides, so a deadline costs no queries of its own and the
arithmetic can be tested without a database.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from .models import CalendarOverride, WorkingSchedule

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
# A target that needs more than three years of days to elapse is a configuration mistake (or every
# day was overridden to a holiday); stopping there keeps a deadline's cost bounded.
MAX_SCAN_DAYS = 3 * 366

_ONE_DAY = timedelta(days=1)
_ONE_MINUTE = timedelta(minutes=1)

Overrides = Mapping[date, bool]
Period = tuple[time, time]


# --- Calendar -------------------------------------------------------------------------------------


@functools.cache
def _year_known(year: int) -> bool:
    # The package decides by year, so one probe tells; caching it keeps unknown years from raising
    # (and catching) an exception for every day a deadline walks over.
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def calendar_years_unknown(years: Iterable[int]) -> list[int]:
    """The given years for which chinese-calendar has no holiday data, sorted, each once."""
    return sorted({year for year in years if not _year_known(year)})


def is_working_day(day: date, *, overrides: Overrides | None = None) -> bool:
    """Whether ``day`` is a working day: override first, then the official calendar, then Mon–Fri."""
    if isinstance(day, datetime):
        day = day.date()
    if overrides:
        verdict = overrides.get(day)
        if verdict is not None:
            return verdict
    official = _official_workday(day)
    return day.weekday() < 5 if official is None else official


@functools.lru_cache(maxsize=8192)
def _official_workday(day: date) -> bool | None:
    # chinese_calendar.is_workday rescans its tables on every call (~70 µs); a deadline asks about
    # the same few days again and again, and the cache holds about twenty years of them.
    if not _year_known(day.year):
        return None
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # never crash, whatever the package's coverage
        return None


# --- Schedule -------------------------------------------------------------------------------------


def _as_time(value: time | str) -> time:
    # An unsaved WorkingSchedule holds its field defaults as written in the model ("08:30").
    return value if isinstance(value, time) else time.fromisoformat(value)


def _length(begin: time, end: time) -> timedelta:
    return datetime.combine(date.min, end) - datetime.combine(date.min, begin)


def schedule_periods(schedule: WorkingSchedule) -> tuple[Period, Period]:
    """The schedule's (morning, afternoon) periods as times; ValueError if they are out of order."""
    morning = (_as_time(schedule.morning_start), _as_time(schedule.morning_end))
    afternoon = (_as_time(schedule.afternoon_start), _as_time(schedule.afternoon_end))
    if not (morning[0] < morning[1] <= afternoon[0] < afternoon[1]):
        raise ValueError(f"working periods out of order: {morning} {afternoon}")
    return morning, afternoon


def working_time_per_day(schedule: WorkingSchedule) -> timedelta:
    """Working time in one working day of the schedule (8 h for 08:30–12:00 and 13:30–18:00)."""
    return sum((_length(begin, end) for begin, end in schedule_periods(schedule)), timedelta())


def default_schedule() -> WorkingSchedule:
    """The schedule marked default, or an unsaved one with the model's default hours if there is none."""
    schedule = WorkingSchedule.objects.filter(is_default=True).first()
    if schedule is not None:
        return schedule
    fields = ("morning_start", "morning_end", "afternoon_start", "afternoon_end")
    defaults = {name: _as_time(WorkingSchedule._meta.get_field(name).get_default()) for name in fields}
    return WorkingSchedule(name="标准工作日", is_default=True, **defaults)


def load_calendar(start_day: date, end_day: date) -> dict[date, bool]:
    """Administrators' overrides for the days from ``start_day`` to ``end_day`` inclusive, one query."""
    rows = CalendarOverride.objects.filter(day__range=(start_day, end_day)).values_list("day", "is_workday")
    return dict(rows)


# --- Arithmetic -----------------------------------------------------------------------------------


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("an aware datetime is required")
    return moment.astimezone(LOCAL_TZ)


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=LOCAL_TZ)


def _check_minutes(minutes: int) -> timedelta:
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    return timedelta(minutes=minutes)


def add_working_time(
    start: datetime, minutes: int, *, schedule: WorkingSchedule, overrides: Overrides | None = None
) -> datetime:
    """The moment at which ``minutes`` of working time have elapsed after ``start``, in local time.

    A target used up exactly at the end of a period ends there (12:00, not 13:30 or the next morning);
    zero minutes gives ``start`` itself. ``overrides`` should cover the days up to the deadline:
    ``load_calendar(start_day, start_day + timedelta(days=MAX_SCAN_DAYS))`` always does. Raises
    ValueError for a naive ``start``, negative minutes, or a target beyond MAX_SCAN_DAYS days.
    """
    cursor = _local(start)
    remaining = _check_minutes(minutes)
    if not remaining:
        return cursor
    periods = schedule_periods(schedule)
    per_day = sum((_length(begin, end) for begin, end in periods), timedelta())
    day = cursor.date()
    try:
        for _ in range(MAX_SCAN_DAYS):
            if is_working_day(day, overrides=overrides):
                if cursor <= _at(day, periods[0][0]) and remaining > per_day:
                    remaining -= per_day  # a whole working day, and more to go
                else:
                    for begin, end in periods:
                        period_start, period_end = max(_at(day, begin), cursor), _at(day, end)
                        if period_start >= period_end:
                            continue
                        if remaining <= period_end - period_start:
                            return period_start + remaining
                        remaining -= period_end - period_start
            day += _ONE_DAY
            cursor = _at(day, time.min)
    except OverflowError:
        pass  # walked past date.max: as unreachable as a target beyond the cap
    raise ValueError(f"{minutes} working minutes do not elapse within {MAX_SCAN_DAYS} days of {start}")


def working_minutes_between(
    start: datetime, end: datetime, *, schedule: WorkingSchedule, overrides: Overrides | None = None
) -> int:
    """Whole minutes of working time from ``start`` to ``end`` (rounded down; 0 if ``end`` is not later).

    The inverse of add_working_time: ``working_minutes_between(s, add_working_time(s, m)) == m``.
    Raises ValueError for naive datetimes or a span longer than MAX_SCAN_DAYS days.
    """
    begin_at, end_at = _local(start), _local(end)
    if end_at <= begin_at:
        return 0
    if (end_at.date() - begin_at.date()).days > MAX_SCAN_DAYS:
        raise ValueError(f"spans longer than {MAX_SCAN_DAYS} days are not measured")
    periods = schedule_periods(schedule)
    total = timedelta()
    day = begin_at.date()
    while day <= end_at.date():
        if is_working_day(day, overrides=overrides):
            for begin, end in periods:
                period_start, period_end = max(_at(day, begin), begin_at), min(_at(day, end), end_at)
                if period_start < period_end:
                    total += period_end - period_start
        day += _ONE_DAY
    return total // _ONE_MINUTE


def add_wall_time(start: datetime, minutes: int) -> datetime:
    """``start`` plus ``minutes`` of clock time (P1 2 h, P2 4 h, P4 24 h), in local time."""
    return _local(start) + _check_minutes(minutes)


def deadline(
    start: datetime,
    minutes: int,
    *,
    in_working_hours: bool,
    schedule: WorkingSchedule | None = None,
    overrides: Overrides | None = None,
) -> datetime:
    """The deadline for a target of ``minutes``, counted in working time or in clock time."""
    if not in_working_hours:
        return add_wall_time(start, minutes)
    if schedule is None:
        raise ValueError("a target in working hours needs a schedule")
    return add_working_time(start, minutes, schedule=schedule, overrides=overrides)


def compute_deadline(
    start: datetime, minutes: int, *, in_working_hours: bool, schedule: WorkingSchedule | None = None
) -> datetime:
    """deadline() with the schedule and overrides read from the database (none for clock time).

    At most two queries: the default schedule unless one is given, and the overrides from the start
    day over the longest span a target may take.
    """
    if not in_working_hours:
        return add_wall_time(start, minutes)
    schedule = schedule if schedule is not None else default_schedule()
    first_day = _local(start).date()
    try:
        last_day = first_day + timedelta(days=MAX_SCAN_DAYS)
    except OverflowError:
        last_day = date.max
    overrides = load_calendar(first_day, last_day)
    return add_working_time(start, minutes, schedule=schedule, overrides=overrides)


class DeadlineCalendar:
    """compute_deadline() for many deadlines at once, from the per-process snapshot of the schedule and
    the overrides (tickets/config_cache.py) however many tickets a create or a sweep computes for."""

    def __init__(self) -> None:
        self._schedule: WorkingSchedule | None = None
        self._overrides: dict[date, bool] = {}

    def _ensure(self, first_day: date) -> None:
        # The per-process snapshot (config_cache): no query at all once it is warm.
        from . import config_cache

        if self._schedule is None:
            self._schedule = config_cache.default_schedule()
            self._overrides = config_cache.overrides()

    def deadline(self, start: datetime, minutes: int, *, in_working_hours: bool) -> datetime:
        if not in_working_hours:
            return add_wall_time(start, minutes)
        self._ensure(_local(start).date())
        return add_working_time(start, minutes, schedule=self._schedule, overrides=self._overrides)

    def working_minutes(self, start: datetime, end: datetime) -> int:
        self._ensure(_local(start).date())
        return working_minutes_between(start, end, schedule=self._schedule, overrides=self._overrides)
