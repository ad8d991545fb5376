"""Working-time arithmetic behind SLA deadlines: schedule, official calendar, overrides, unknown years.

The 2026 dates come from chinese-calendar itself: Mid-Autumn Festival 25–27 September, National Day
1–7 October, adjusted working days Sunday 20 September and Saturday 10 October.
"""

import random
import time as clock
from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar
import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory
from tickets.models import CalendarOverride, SLAPolicy, WorkingSchedule
from tickets.working_time import (
    LOCAL_TZ,
    MAX_SCAN_DAYS,
    add_wall_time,
    add_working_time,
    calendar_years_unknown,
    compute_deadline,
    deadline,
    default_schedule,
    is_working_day,
    load_calendar,
    working_minutes_between,
    working_time_per_day,
)

STANDARD = WorkingSchedule(
    name="standard",
    morning_start=time(8, 30),
    morning_end=time(12, 0),
    afternoon_start=time(13, 30),
    afternoon_end=time(18, 0),
)
P3_RESPONSE = 8 * 60
UNKNOWN_YEAR = 2099  # far enough ahead that no chinese-calendar release will know it soon


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def add(start: datetime, minutes: int, overrides=None) -> datetime:
    return add_working_time(start, minutes, schedule=STANDARD, overrides=overrides)


def between(start: datetime, end: datetime, overrides=None) -> int:
    return working_minutes_between(start, end, schedule=STANDARD, overrides=overrides)


def test_the_2026_dates_used_here_are_the_official_ones():
    assert not chinese_calendar.is_workday(date(2026, 10, 1))
    assert not chinese_calendar.is_workday(date(2026, 10, 7))
    assert chinese_calendar.is_workday(date(2026, 10, 8))
    assert chinese_calendar.is_workday(date(2026, 10, 10))  # a Saturday
    assert chinese_calendar.is_workday(date(2026, 9, 20))  # a Sunday
    assert not chinese_calendar.is_workday(date(2026, 9, 25))  # Mid-Autumn, a Friday


# --- Days --------------------------------------------------------------------------------------------


def test_official_calendar_decides_holidays_and_adjusted_working_days():
    assert is_working_day(date(2026, 11, 20))  # an ordinary Friday
    assert not is_working_day(date(2026, 11, 21))  # an ordinary Saturday
    assert not is_working_day(date(2026, 10, 5))  # National Day, a Monday
    assert is_working_day(date(2026, 10, 10))  # adjusted working Saturday


def test_an_override_wins_over_the_official_calendar():
    overrides = {date(2026, 11, 23): False, date(2026, 11, 21): True, date(2026, 10, 5): True}
    assert not is_working_day(date(2026, 11, 23), overrides=overrides)
    assert is_working_day(date(2026, 11, 21), overrides=overrides)
    assert is_working_day(date(2026, 10, 5), overrides=overrides)
    assert is_working_day(date(2026, 11, 24), overrides=overrides)  # days without an override unchanged


def test_a_year_the_package_does_not_know_falls_back_to_monday_to_friday():
    assert calendar_years_unknown([2026, UNKNOWN_YEAR, 2025, UNKNOWN_YEAR, 2003]) == [2003, UNKNOWN_YEAR]
    assert is_working_day(date(UNKNOWN_YEAR, 1, 1))  # a Thursday: no holiday data, so a working day
    assert not is_working_day(date(UNKNOWN_YEAR, 1, 3))  # a Saturday
    assert not is_working_day(date(UNKNOWN_YEAR, 1, 1), overrides={date(UNKNOWN_YEAR, 1, 1): False})
    assert is_working_day(date(UNKNOWN_YEAR, 1, 3), overrides={date(UNKNOWN_YEAR, 1, 3): True})


# --- Deadlines ---------------------------------------------------------------------------------------


def test_p3_from_friday_afternoon_lands_on_the_next_working_day():
    # Friday 16:00–18:00 is 2 h; Monday 08:30–12:00 and 13:30–16:00 make the other 6 h.
    assert add(at(2026, 11, 20, 16, 0), P3_RESPONSE) == at(2026, 11, 23, 16, 0)


def test_deadline_skips_national_day_and_counts_the_adjusted_saturday():
    assert add(at(2026, 9, 30, 16, 0), P3_RESPONSE) == at(2026, 10, 8, 16, 0)
    # 2 h on 30 September, 8 h on 8 and 9 October, the last 6 h on Saturday 10 October.
    assert add(at(2026, 9, 30, 16, 0), 3 * P3_RESPONSE) == at(2026, 10, 10, 16, 0)
    # Thursday before Mid-Autumn: Friday 25 and the weekend are off.
    assert add(at(2026, 9, 24, 16, 0), P3_RESPONSE) == at(2026, 9, 28, 16, 0)
    # Friday before the adjusted working Sunday 20 September.
    assert add(at(2026, 9, 18, 16, 0), P3_RESPONSE) == at(2026, 9, 20, 16, 0)


def test_a_start_outside_working_hours_waits_for_the_next_period():
    monday = (2026, 11, 23)
    assert add(at(*monday, 12, 30), 60) == at(*monday, 14, 30)  # lunch break
    assert add(at(*monday, 7, 0), 60) == at(*monday, 9, 30)  # before opening
    assert add(at(*monday, 19, 0), 60) == at(2026, 11, 24, 9, 30)  # after closing
    assert add(at(*monday, 11, 30), 60) == at(*monday, 14, 0)  # across lunch
    assert add(at(2026, 11, 21, 10, 0), 60) == at(*monday, 9, 30)  # on a Saturday


def test_a_target_used_up_at_the_end_of_a_period_ends_there():
    assert add(at(2026, 11, 23, 10, 0), 120) == at(2026, 11, 23, 12, 0)
    assert add(at(2026, 11, 23, 8, 30), P3_RESPONSE) == at(2026, 11, 23, 18, 0)
    assert add(at(2026, 11, 23, 19, 0), 0) == at(2026, 11, 23, 19, 0)


def test_overrides_move_the_deadline():
    friday = at(2026, 11, 20, 16, 0)
    assert add(friday, P3_RESPONSE, {date(2026, 11, 23): False}) == at(2026, 11, 24, 16, 0)
    assert add(friday, P3_RESPONSE, {date(2026, 11, 21): True}) == at(2026, 11, 21, 16, 0)
    # A local working day inside National Day.
    assert add(at(2026, 9, 30, 16, 0), P3_RESPONSE, {date(2026, 10, 2): True}) == at(2026, 10, 2, 16, 0)


def test_deadlines_in_an_unknown_year_count_monday_to_friday_without_crashing():
    friday = at(UNKNOWN_YEAR, 1, 2, 16, 0)
    assert add(friday, P3_RESPONSE) == at(UNKNOWN_YEAR, 1, 5, 16, 0)
    assert add(friday, P3_RESPONSE, {date(UNKNOWN_YEAR, 1, 5): False}) == at(UNKNOWN_YEAR, 1, 6, 16, 0)
    assert between(friday, at(UNKNOWN_YEAR, 1, 5, 16, 0)) == P3_RESPONSE


def test_a_deadline_crossing_into_the_first_unknown_year_uses_the_fallback():
    last_known = next(year for year in range(2025, 2200) if calendar_years_unknown([year + 1]))
    start = at(last_known, 12, 30, 16, 0)
    end = add(start, 5 * P3_RESPONSE)
    assert end.year == last_known + 1
    assert end.weekday() < 5
    assert between(start, end) == 5 * P3_RESPONSE


def test_aware_datetimes_in_any_zone_are_computed_in_china_time():
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # 16:00 in Beijing, a Friday
    end = add(start, P3_RESPONSE)
    assert end == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert end.utcoffset() == timedelta(hours=8)


def test_seconds_in_the_start_are_kept():
    start = at(2026, 11, 23, 10, 15, 42)
    assert add(start, 90) == at(2026, 11, 23, 11, 45, 42)
    assert between(start, add(start, 600)) == 600


def test_bad_input_raises_value_error_not_anything_else():
    with pytest.raises(ValueError, match="aware"):
        add(datetime(2026, 11, 23, 10, 0), 60)
    with pytest.raises(ValueError, match="negative"):
        add(at(2026, 11, 23, 10, 0), -1)
    with pytest.raises(ValueError, match="aware"):
        between(datetime(2026, 11, 23), at(2026, 11, 24))


def test_targets_beyond_the_scan_cap_raise_value_error():
    start = at(2026, 11, 23, 10, 0)
    with pytest.raises(ValueError, match="do not elapse"):
        add(start, 10**9)
    every_day_off = {start.date() + timedelta(days=n): False for n in range(MAX_SCAN_DAYS + 1)}
    with pytest.raises(ValueError, match="do not elapse"):
        add(start, 60, every_day_off)
    with pytest.raises(ValueError, match="do not elapse"):
        add(at(9999, 12, 30, 10, 0), 10 * P3_RESPONSE)
    with pytest.raises(ValueError, match="longer than"):
        between(start, start + timedelta(days=MAX_SCAN_DAYS + 2))


def test_long_targets_are_computed_a_day_at_a_time():
    start = at(2026, 1, 5, 8, 30)
    began = clock.perf_counter()
    end = add(start, 480 * P3_RESPONSE)  # 480 working days, almost two years
    elapsed = clock.perf_counter() - began
    assert between(start, end) == 480 * P3_RESPONSE
    assert elapsed < 0.5  # a minute-by-minute walk would take seconds


def test_working_minutes_between_counts_only_working_time():
    assert between(at(2026, 11, 20, 16, 0), at(2026, 11, 23, 16, 0)) == P3_RESPONSE
    assert between(at(2026, 11, 23, 12, 0), at(2026, 11, 23, 13, 30)) == 0
    assert between(at(2026, 9, 30, 18, 0), at(2026, 10, 8, 8, 30)) == 0  # the whole holiday
    assert between(at(2026, 11, 23, 16, 0), at(2026, 11, 23, 10, 0)) == 0  # end before start
    assert between(at(2026, 11, 23, 10, 0), at(2026, 11, 23, 10, 0, 59)) == 0  # rounded down


def test_unsaved_schedule_with_field_defaults_is_usable():
    schedule = WorkingSchedule(name="unsaved")  # the model's defaults are the strings "08:30" etc.
    assert working_time_per_day(schedule) == timedelta(hours=8)
    assert add_working_time(at(2026, 11, 20, 16, 0), P3_RESPONSE, schedule=schedule) == at(2026, 11, 23, 16, 0)
    broken = WorkingSchedule(name="broken", morning_start=time(12, 0), morning_end=time(8, 30))
    with pytest.raises(ValueError, match="out of order"):
        add_working_time(at(2026, 11, 20, 16, 0), 60, schedule=broken)


def test_a_different_schedule_gives_a_different_deadline():
    short = WorkingSchedule(
        name="short", morning_start=time(9), morning_end=time(11), afternoon_start=time(14), afternoon_end=time(16)
    )
    # 4 h a day: 8 working hours from Friday 15:00 is 1 h Friday, 4 h Monday, 3 h Tuesday.
    assert add_working_time(at(2026, 11, 20, 15, 0), P3_RESPONSE, schedule=short) == at(2026, 11, 24, 15, 0)


def test_wall_time_and_dispatch():
    start = at(2026, 9, 30, 16, 0)
    assert add_wall_time(start, 24 * 60) == at(2026, 10, 1, 16, 0)  # holidays do not matter
    assert deadline(start, 120, in_working_hours=False) == at(2026, 9, 30, 18, 0)
    assert deadline(start, P3_RESPONSE, in_working_hours=True, schedule=STANDARD) == at(2026, 10, 8, 16, 0)
    with pytest.raises(ValueError, match="schedule"):
        deadline(start, P3_RESPONSE, in_working_hours=True)


# --- Agreement with a minute-by-minute reference --------------------------------------------------

BOUNDARIES = [
    time(h, m)
    for h, m in [
        (0, 0),
        (8, 29),
        (8, 30),
        (8, 31),
        (11, 59),
        (12, 0),
        (12, 1),
        (13, 29),
        (13, 30),
        (13, 31),
        (17, 59),
        (18, 0),
        (18, 1),
        (23, 59),
    ]
]
WINDOWS = [date(2026, 9, 15), date(2026, 12, 20), date(2026, 2, 10), date(UNKNOWN_YEAR, 12, 20)]


def _random_case(rng: random.Random):
    first = rng.choice(WINDOWS) + timedelta(days=rng.randrange(30))
    moment = rng.choice(BOUNDARIES) if rng.random() < 0.5 else time(rng.randrange(24), rng.randrange(60))
    start = datetime.combine(first, moment, tzinfo=LOCAL_TZ)
    overrides = {first + timedelta(days=rng.randrange(20)): rng.random() < 0.5 for _ in range(rng.randrange(4))}
    return start, overrides


def _reference_add(start: datetime, minutes: int, overrides) -> datetime:
    """Walks working days one minute at a time: slow, obviously right."""
    periods = [(time(8, 30), time(12, 0)), (time(13, 30), time(18, 0))]
    moment, counted = start, 0
    while counted < minutes:
        if not is_working_day(moment.date(), overrides=overrides):
            moment = datetime.combine(moment.date() + timedelta(days=1), time.min, tzinfo=LOCAL_TZ)
            continue
        if any(begin <= moment.time() < end for begin, end in periods):
            counted += 1
        moment += timedelta(minutes=1)
    return moment if minutes else start


def test_add_working_time_agrees_with_a_minute_by_minute_walk():
    rng = random.Random(20261001)
    for _ in range(400):
        start, overrides = _random_case(rng)
        minutes = rng.choice([0, 1, 59, 60, 210, 211, 270, 480, 481, rng.randrange(1, 1500)])
        assert add(start, minutes, overrides) == _reference_add(start, minutes, overrides), (start, minutes)


def test_measuring_what_was_added_gives_the_minutes_back():
    rng = random.Random(7)
    for _ in range(1000):
        start, overrides = _random_case(rng)
        start = start.replace(second=rng.randrange(60))
        minutes = rng.randrange(0, 20_000)
        end = add(start, minutes, overrides)
        assert end >= start
        assert between(start, end, overrides) == minutes, (start, minutes)
        # One minute less of target never ends later.
        if minutes:
            assert add(start, minutes - 1, overrides) <= end


# --- Database helpers ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_default_schedule_is_the_marked_one_or_an_unsaved_standard_day():
    saved = default_schedule()
    assert saved.pk is not None and saved.is_default
    WorkingSchedule.objects.all().delete()
    fallback = default_schedule()
    assert fallback.pk is None
    assert (fallback.morning_start, fallback.afternoon_end) == (time(8, 30), time(18, 0))
    assert working_time_per_day(fallback) == timedelta(hours=8)


@pytest.mark.django_db
def test_load_calendar_reads_the_range_in_one_query(django_assert_num_queries):
    CalendarOverride.objects.create(day=date(2026, 11, 23), is_workday=False, note="校庆")
    CalendarOverride.objects.create(day=date(2026, 11, 28), is_workday=True, note="补班")
    CalendarOverride.objects.create(day=date(2026, 12, 25), is_workday=False)
    with django_assert_num_queries(1):
        calendar = load_calendar(date(2026, 11, 23), date(2026, 11, 30))
    assert calendar == {date(2026, 11, 23): False, date(2026, 11, 28): True}


@pytest.mark.django_db
def test_compute_deadline_uses_the_overrides_in_the_database(django_assert_max_num_queries):
    friday = at(2026, 11, 20, 16, 0)
    assert compute_deadline(friday, P3_RESPONSE, in_working_hours=True) == at(2026, 11, 23, 16, 0)
    CalendarOverride.objects.create(day=date(2026, 11, 23), is_workday=False, note="校庆")
    with django_assert_max_num_queries(2):
        assert compute_deadline(friday, P3_RESPONSE, in_working_hours=True) == at(2026, 11, 24, 16, 0)
    with django_assert_max_num_queries(0):
        assert compute_deadline(friday, 120, in_working_hours=False) == at(2026, 11, 20, 18, 0)


# --- Admin ---------------------------------------------------------------------------------------

CALENDAR_ADMIN_PAGES = ["admin:tickets_calendaroverride_changelist", "admin:tickets_workingschedule_changelist"]


@pytest.fixture
def operator(tree):
    return UserFactory(username="ops", unit=tree.root, is_staff=True, is_superuser=True)


@pytest.mark.django_db
@pytest.mark.parametrize("page", CALENDAR_ADMIN_PAGES)
def test_admin_warns_when_next_year_has_no_official_calendar(client, operator, monkeypatch, page):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: date(UNKNOWN_YEAR - 1, 6, 1))
    client.force_login(operator)
    content = client.get(reverse(page)).content.decode().lower()
    assert content.count("chinese-calendar") == 2
    assert f"{UNKNOWN_YEAR - 1}" in content and f"{UNKNOWN_YEAR}" in content


@pytest.mark.django_db
@pytest.mark.parametrize("page", CALENDAR_ADMIN_PAGES)
def test_admin_is_quiet_when_the_official_calendar_covers_both_years(client, operator, monkeypatch, page):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: date(2025, 6, 1))
    client.force_login(operator)
    response = client.get(reverse(page))
    assert response.status_code == 200
    assert "chinese-calendar" not in response.content.decode().lower()


@pytest.mark.django_db
@pytest.mark.parametrize("model", [WorkingSchedule, CalendarOverride, SLAPolicy], ids=lambda m: m.__name__)
def test_admin_pages_answer_with_search(client, operator, model):
    CalendarOverride.objects.create(day=date(2026, 11, 23), is_workday=False, note="校庆")
    client.force_login(operator)
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert client.get(changelist).status_code == 200
    assert client.get(changelist, {"q": "校庆"}).status_code == 200
    obj = model.objects.order_by("pk").first()
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])).status_code == 200


@pytest.mark.django_db
def test_calendar_override_list_shows_what_the_official_calendar_says(client, operator):
    CalendarOverride.objects.create(day=date(2026, 10, 5), is_workday=True, note="值班")
    client.force_login(operator)
    page = client.get(reverse("admin:tickets_calendaroverride_changelist"), {"q": "值班"}).content.decode()
    assert "day off" in page or "休息日" in page


@pytest.mark.django_db
def test_admin_refuses_a_schedule_with_periods_out_of_order(client, operator):
    client.force_login(operator)
    response = client.post(
        reverse("admin:tickets_workingschedule_add"),
        {
            "name": "颠倒",
            "morning_start": "12:00",
            "morning_end": "08:30",
            "afternoon_start": "13:30",
            "afternoon_end": "18:00",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not WorkingSchedule.objects.filter(name="颠倒").exists()


@pytest.mark.django_db
def test_sla_policies_can_be_changed_but_not_deleted(client, operator):
    client.force_login(operator)
    policy = SLAPolicy.objects.get(priority="P3")
    assert client.get(reverse("admin:tickets_slapolicy_delete", args=[policy.pk])).status_code == 403
    assert SLAPolicy.objects.filter(priority="P3").exists()
