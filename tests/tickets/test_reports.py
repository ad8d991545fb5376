"""Ticket reports: figures per unit subtree, level, type, priority and period; scoping; bad input;
the portal page with its chart; CSV and XLSX exports; a constant number of queries."""

import csv
import io
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from accounts.models import HandlingGroup, Role
from orgtree.models import OrgLevel
from tests.factories import UserFactory, grant, make_unit
from tickets import services
from tickets.models import Ticket, TicketType
from tickets.selectors import reports
from tickets.working_time import LOCAL_TZ

pytestmark = pytest.mark.django_db

API = "/api/v1/tickets/reports/"


def _ask(asker, type="hardware", priority="P3"):
    return services.ticket_create(
        asker=asker,
        title="投影仪无法开机",
        description="指示灯常亮，无报警声音",
        type=type,
        priority=priority,
        contact_info="13800000000",
    )


def _set(ticket, **fields):
    Ticket.objects.filter(pk=ticket.pk).update(**fields)


def _by_label(rows, field="total"):
    return {("self" if row["key"] == "self" else row["label"]): row[field] for row in rows}


def _zh(text) -> str:
    with translation.override("zh-hans"):
        return str(text)


@pytest.fixture
def agent(tree):
    user = UserFactory(username="hd_agent", name="刘洋", unit=tree.haidian, user_type="staff")
    grant(user, tree.haidian, Role.SUPPORT_AGENT).handling_groups.set(HandlingGroup.objects.all())
    return user


@pytest.fixture
def reviewer(tree):
    user = UserFactory(username="hd_reviewer", name="陈静", unit=tree.haidian, user_type="staff")
    grant(user, tree.haidian, Role.ANSWER_REVIEWER)
    return user


@pytest.fixture
def beijing_admin(tree):
    user = UserFactory(username="bj_admin", name="北京管理员", unit=tree.beijing, user_type="staff")
    grant(user, tree.beijing)
    return user


@pytest.fixture
def operator(tree):
    return UserFactory(username="operator", unit=tree.root, user_type="staff", is_superuser=True, is_staff=True)


@pytest.fixture
def askers(tree, teacher, tianjin_teacher):
    """Two tickets at 海淀实验小学, one at 海淀第一中学, one at 海淀区 itself, one in 天津."""
    school_b_teacher = UserFactory(username="teacher_b", unit=tree.school_b)
    county_clerk = UserFactory(username="hd_clerk", unit=tree.haidian, user_type="staff")
    tickets = [_ask(teacher), _ask(teacher), _ask(school_b_teacher), _ask(county_clerk), _ask(tianjin_teacher)]
    return tickets


# --- Figures -------------------------------------------------------------------------------------
def test_a_schools_tickets_count_under_its_county_and_province(tree, askers, haidian_admin, beijing_admin, operator):
    county = reports.ticket_report(user=haidian_admin, unit=tree.haidian)
    assert _by_label(county.rows) == {"self": 1, "海淀实验小学": 2, "海淀第一中学": 1}
    assert county.totals["total"] == 4

    province = reports.ticket_report(user=beijing_admin, unit=tree.beijing)
    assert _by_label(province.rows) == {"海淀区": 4}
    assert province.rows[0]["unit_id"] == tree.haidian.pk and province.rows[0]["has_children"]

    national = reports.ticket_report(user=operator, unit=tree.root)
    assert _by_label(national.rows) == {"北京市": 4, "天津市": 1}
    assert national.totals["total"] == 5


def test_backlog_sla_compliance_and_satisfaction(tree, teacher, haidian_admin):
    now, hour = timezone.now(), timedelta(hours=1)
    t = [_ask(teacher) for _ in range(7)]
    # state, first response (due), resolution (due), paused since, rating
    _set(
        t[0],
        state="closed",
        first_response_at=now - 3 * hour,
        response_due_at=now - 2 * hour,
        resolved_at=now - 2 * hour,
        resolution_due_at=now - hour,
        rating="very_satisfied",
    )
    _set(
        t[1],
        state="closed",
        first_response_at=now - hour,
        response_due_at=now - 2 * hour,
        resolved_at=now - hour,
        resolution_due_at=now - 2 * hour,
        rating="satisfied",
    )
    _set(
        t[2],
        state="in_progress",
        first_response_at=None,
        response_due_at=now - hour,
        resolved_at=None,
        resolution_due_at=now - hour,
    )
    _set(
        t[3],
        state="new",
        first_response_at=None,
        response_due_at=now + hour,
        resolved_at=None,
        resolution_due_at=now + 5 * hour,
    )
    # Waiting on the asker since before its resolution deadline: the clock is stopped, no breach.
    _set(
        t[4],
        state="waiting_asker",
        first_response_at=now - 4 * hour,
        response_due_at=now - 3 * hour,
        resolved_at=None,
        resolution_due_at=now - 2 * hour,
        paused_at=now - 3 * hour,
    )
    _set(
        t[5],
        state="closed",
        first_response_at=now - 5 * hour,
        response_due_at=now - 4 * hour,
        resolved_at=now - 4 * hour,
        resolution_due_at=now - 3 * hour,
        rating="neutral",
    )
    _set(
        t[6],
        state="closed",
        first_response_at=now - 5 * hour,
        response_due_at=now - 4 * hour,
        resolved_at=now - hour,
        resolution_due_at=now - 3 * hour,
        rating="dissatisfied",
    )

    report = reports.ticket_report(user=haidian_admin, unit=tree.haidian, now=now)
    (row,) = report.rows
    assert row["label"] == "海淀实验小学"
    expected = {
        "total": 7,
        "backlog": 3,
        "resolved": 4,
        "response_met": 4,
        "response_breached": 2,
        "response_rate": 0.6667,
        "resolution_met": 2,
        "resolution_breached": 3,
        "resolution_rate": 0.4,
        "rated": 4,
        "very_satisfied": 1,
        "satisfied": 1,
        "neutral": 1,
        "dissatisfied": 1,
        "satisfaction_rate": 0.5,
    }
    assert {key: row[key] for key in expected} == expected
    assert {key: report.totals[key] for key in expected} == expected


def test_the_manual_flow_counts_as_on_time_and_satisfied(tree, teacher, agent, reviewer, haidian_admin):
    ticket = _ask(teacher)
    ticket = services.ticket_accept(ticket=ticket, agent=agent)
    ticket = services.ticket_submit_answer(ticket=ticket, agent=agent, solution="更换电源适配器")
    ticket = services.ticket_approve(ticket=ticket, reviewer=reviewer)
    ticket = services.ticket_confirm(ticket=ticket, asker=teacher)
    services.ticket_rate(ticket=ticket, asker=teacher, rating="very_satisfied")
    _ask(teacher)  # still new, within its deadlines

    totals = reports.ticket_report(user=haidian_admin, unit=tree.haidian).totals
    assert (totals["total"], totals["backlog"], totals["resolved"]) == (2, 1, 1)
    assert (totals["response_met"], totals["response_breached"], totals["response_rate"]) == (1, 0, 1.0)
    assert (totals["resolution_met"], totals["resolution_rate"]) == (1, 1.0)
    assert (totals["rated"], totals["satisfaction_rate"]) == (1, 1.0)


def test_by_level_of_the_pool_that_handled_it(tree, teacher, tianjin_teacher, operator):
    county_agent = UserFactory(username="county_agent", unit=tree.haidian, user_type="staff")
    grant(county_agent, tree.haidian, Role.SUPPORT_AGENT).handling_groups.set(
        HandlingGroup.objects.exclude(code="complaints")
    )
    city_agent = UserFactory(username="city_agent", unit=tree.beijing, user_type="staff")
    grant(city_agent, tree.beijing, Role.SUPPORT_AGENT).handling_groups.set(
        HandlingGroup.objects.filter(code="complaints")
    )
    _ask(teacher, type="hardware")
    _ask(teacher, type="software")
    _ask(teacher, type="complaint")  # no county agent takes complaints: 北京市's pool does
    _ask(tianjin_teacher)  # no pool anywhere above

    report = reports.ticket_report(user=operator, unit=tree.root, group_by="level")
    assert {row["key"]: row["total"] for row in report.rows} == {
        str(OrgLevel.PROVINCE): 1,
        str(OrgLevel.COUNTY): 2,
        "": 1,
    }
    assert [row["key"] for row in report.rows] == ["1", "3", ""]
    assert report.rows[1]["label"] == str(OrgLevel.COUNTY.label)


def test_by_type_and_priority_with_filters(tree, teacher, haidian_admin):
    _ask(teacher, type="hardware", priority="P1")
    _ask(teacher, type="hardware", priority="P3")
    _ask(teacher, type="software", priority="P2")
    _ask(teacher, type="consultation", priority="P4")

    by_type = reports.ticket_report(user=haidian_admin, unit=tree.haidian, group_by="type")
    assert [(row["key"], row["total"]) for row in by_type.rows] == [
        ("hardware", 2),
        ("software", 1),
        ("consultation", 1),
    ]
    by_priority = reports.ticket_report(user=haidian_admin, unit=tree.haidian, group_by="priority", type="hardware")
    assert [(row["key"], row["total"]) for row in by_priority.rows] == [("P1", 1), ("P3", 1)]
    p2 = reports.ticket_report(user=haidian_admin, unit=tree.haidian, priority="P2")
    assert p2.totals["total"] == 1


def test_periods_are_buckets_of_shanghai_days_weeks_and_months(tree, teacher, haidian_admin):
    def at(*args):
        ticket = _ask(teacher)
        _set(ticket, created_at=datetime(*args, tzinfo=LOCAL_TZ))

    at(2024, 4, 30, 23, 59, 59)  # before the first day
    at(2024, 5, 1, 23, 30)  # 15:30 UTC: still 1 May in Beijing
    at(2024, 5, 2, 0, 30)  # 1 May 16:30 UTC, but 2 May in Beijing
    at(2024, 5, 6, 10, 0)  # Monday
    at(2024, 5, 7, 23, 59)  # the last day counts whole
    at(2024, 5, 8, 0, 0)  # after the last day

    def report(period, start, end):
        return reports.ticket_report(
            user=haidian_admin,
            unit=tree.haidian,
            group_by="period",
            period=period,
            date_from=start,
            date_to=end,
        )

    days = report("day", datetime(2024, 5, 1).date(), datetime(2024, 5, 7).date())
    assert [(row["key"], row["total"]) for row in days.rows] == [
        ("2024-05-01", 1),
        ("2024-05-02", 1),
        ("2024-05-03", 0),
        ("2024-05-04", 0),
        ("2024-05-05", 0),
        ("2024-05-06", 1),
        ("2024-05-07", 1),
    ]
    assert days.totals["total"] == 4
    weeks = report("week", datetime(2024, 5, 1).date(), datetime(2024, 5, 7).date())
    assert [(row["key"], row["total"]) for row in weeks.rows] == [("2024-04-29", 2), ("2024-05-06", 2)]
    months = report("month", datetime(2024, 4, 1).date(), datetime(2024, 5, 31).date())
    assert [(row["key"], row["label"], row["total"]) for row in months.rows] == [
        ("2024-04-01", "2024-04", 1),
        ("2024-05-01", "2024-05", 5),
    ]


# --- Scope ---------------------------------------------------------------------------------------
def test_a_county_admin_cannot_report_on_another_province(tree, askers, haidian_admin, auth_client, client):
    response = auth_client(haidian_admin).get(API, {"unit": tree.tianjin.pk})
    assert response.status_code == 404
    assert auth_client(haidian_admin).get(API, {"unit": 999999}).status_code == 404
    # Above one's own unit is outside the scope too.
    assert auth_client(haidian_admin).get(API, {"unit": tree.beijing.pk}).status_code == 404
    client.force_login(haidian_admin)
    assert client.get(reverse("tickets:reports"), {"unit": tree.tianjin.pk}).status_code == 404
    assert client.get(reverse("tickets:reports-export"), {"unit": tree.tianjin.pk, "format": "csv"}).status_code == 404


def test_default_scope_is_the_users_highest_role_unit(tree, askers, agent, reviewer, auth_client):
    data = auth_client(agent).get(API).json()
    assert data["unit"]["id"] == tree.haidian.pk
    assert data["totals"]["total"] == 4  # 天津's ticket is not in 海淀区's figures
    assert auth_client(reviewer).get(API).json()["unit"]["id"] == tree.haidian.pk

    both = UserFactory(username="two_hats", unit=tree.school_a, user_type="staff")
    grant(both, tree.school_a)
    grant(both, tree.beijing, Role.ANSWER_REVIEWER)
    data = auth_client(both).get(API).json()
    assert data["unit"]["id"] == tree.beijing.pk
    assert _by_label(data["rows"]) == {"海淀区": 4}


def test_people_without_a_support_role_get_no_reports(tree, teacher, api_client, auth_client, client):
    assert api_client.get(API).status_code == 401
    assert auth_client(teacher).get(API).status_code == 403
    client.force_login(teacher)
    assert client.get(reverse("tickets:reports")).status_code == 403
    client.logout()
    response = client.get(reverse("tickets:reports"))
    assert response.status_code == 302 and "login" in response["Location"]


# --- Bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2024-13-01"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "2024-05-02", "date_to": "2024-05-01"}, "date_to"),
        ({"date_from": "2023-01-01", "date_to": "2024-05-01"}, "date_to"),
        ({"group_by": "weather"}, "group_by"),
        ({"period": "century"}, "period"),
        ({"group_by": "period", "period": "day", "date_from": "2024-01-01", "date_to": "2024-06-30"}, "period"),
        ({"date_to": "0001-01-01"}, "date_to"),
        ({"date_from": "9999-12-31"}, "date_from"),
        ({"unit": "abc"}, "unit"),
        ({"unit": "99999999999999999999999"}, "unit"),
        ({"type": "weather"}, "type"),
        ({"priority": "P9"}, "priority"),
    ],
)
def test_bad_parameters_are_400_with_a_message_for_the_field(tree, haidian_admin, auth_client, client, params, field):
    response = auth_client(haidian_admin).get(API, params)
    assert response.status_code == 400
    assert field in response.json()["fields"]

    client.force_login(haidian_admin)
    page = client.get(reverse("tickets:reports"), params)
    assert page.status_code == 400
    assert field in page.context["form"].errors
    assert 'class="errorlist"' in page.content.decode()


def test_the_page_shows_the_date_error_next_to_the_field(tree, haidian_admin, client):
    client.force_login(haidian_admin)
    page = client.get(reverse("tickets:reports"), {"date_from": "2024-05-02", "date_to": "2024-05-01"})
    html = page.content.decode()
    assert _zh(gettext_lazy("The end date is before the start date.")) in html
    assert 'id="id_date_to_errors"' in html
    assert 'id="report-chart"' not in html


def test_an_unknown_export_format_is_a_form_error(tree, haidian_admin, client):
    client.force_login(haidian_admin)
    response = client.get(reverse("tickets:reports-export"), {"format": "pdf"})
    assert response.status_code == 400
    assert "format" in response.context["form"].errors


# --- Portal page and exports ---------------------------------------------------------------------
def test_the_page_draws_the_chart_and_the_table(tree, askers, beijing_admin, haidian_admin, client):
    client.force_login(haidian_admin)
    response = client.get(reverse("tickets:reports"))
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('<svg class="report-chart"')
    # The chart's own closing tag: the top bar draws an icon (the bell) as an SVG too.
    svg = html[start : html.index("</svg>", start)]
    assert svg.count('<g class="bar">') == 3
    assert "海淀实验小学" in svg and "海淀第一中学" in svg
    assert 'class="bar-backlog"' in svg
    assert 'id="report-table"' in html
    assert reverse("tickets:reports-export") + "?" in html and "format=xlsx" in html

    # A unit with units below links down to its own report.
    client.force_login(beijing_admin)
    html = client.get(reverse("tickets:reports")).content.decode()
    assert f"unit={tree.haidian.pk}" in html


def test_csv_export_has_the_tables_header_rows_and_a_bom(tree, askers, haidian_admin, client):
    client.force_login(haidian_admin)
    response = client.get(reverse("tickets:reports-export"), {"format": "csv", "group_by": "unit"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;") and ".csv" in response["Content-Disposition"]
    raw = response.content
    assert raw.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header = lines[0]
    assert header[0] == _zh(dict(reports.GROUP_BY_CHOICES)["unit"])
    assert header[1:] == [_zh(label) for _key, label, _kind in reports.REPORT_COLUMNS]
    assert header.index(_zh(reports.REPORT_COLUMNS[0][1])) == 1
    body = {line[0]: line for line in lines[1:]}
    assert body["海淀实验小学"][1] == "2" and body["海淀第一中学"][1] == "1"
    assert lines[-1][1] == "4"  # the totals row
    assert len(lines) == 1 + 3 + 1


def test_xlsx_export_holds_numbers_and_percentages(tree, teacher, haidian_admin, client):
    now = timezone.now()
    for rating in ("very_satisfied", "neutral"):
        _set(
            _ask(teacher),
            state="closed",
            rating=rating,
            first_response_at=now - timedelta(hours=2),
            response_due_at=now - timedelta(hours=1),
        )
    client.force_login(haidian_admin)
    response = client.get(reverse("tickets:reports-export"), {"format": "xlsx", "group_by": "type"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    keys = ["label"] + [key for key, _label, _kind in reports.REPORT_COLUMNS]
    assert list(rows[0]) == [_zh(dict(reports.GROUP_BY_CHOICES)["type"])] + [
        _zh(label) for _key, label, _kind in reports.REPORT_COLUMNS
    ]
    hardware = dict(zip(keys, rows[1], strict=True))
    assert hardware["label"] == _zh(TicketType.HARDWARE.label)
    assert (hardware["total"], hardware["rated"], hardware["satisfaction_rate"], hardware["response_rate"]) == (
        2,
        2,
        0.5,
        1.0,
    )
    rate_column = keys.index("satisfaction_rate") + 1
    assert sheet.cell(row=2, column=rate_column).number_format == "0.0%"
    assert rows[-1][1] == 2  # totals


def test_api_answers_rows_and_totals(tree, askers, haidian_admin, auth_client):
    data = auth_client(haidian_admin).get(API, {"group_by": "unit", "unit": tree.haidian.pk}).json()
    assert set(data) >= {"unit", "group_by", "period", "date_from", "date_to", "rows", "totals"}
    assert data["unit"] == {"id": tree.haidian.pk, "name": "海淀区", "code": "110108", "level": OrgLevel.COUNTY}
    assert [(row["key"], row["total"]) for row in data["rows"]] == [
        ("self", 1),
        (str(tree.school_a.pk), 2),
        (str(tree.school_b.pk), 1),
    ]
    assert data["totals"]["total"] == 4 and data["totals"]["backlog"] == 4
    assert data["totals"]["response_rate"] is None  # nothing met or missed yet


def test_the_report_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"][API]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"unit", "group_by", "period", "date_from", "date_to", "type", "priority"} <= names
    assert {"200", "400", "403", "404"} <= set(operation["responses"])


# --- Cost ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("group_by", ["unit", "level", "type", "priority", "period"])
def test_queries_do_not_grow_with_the_rows(
    tree, askers, beijing_admin, auth_client, client, group_by, django_assert_max_num_queries
):
    params = {"group_by": group_by, "unit": tree.beijing.pk}
    api = auth_client(beijing_admin)
    client.force_login(beijing_admin)
    # Counted at once: the next request resets the connection's query log.
    with CaptureQueriesContext(connection) as captured:
        assert api.get(API, params).status_code == 200
    api_small = len(captured)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("tickets:reports"), params).status_code == 200
    page_small = len(captured)

    # Ten more counties, each with tickets of every type and priority.
    for index in range(10):
        county = make_unit(tree.beijing, f"测试区{index}", f"1199{index:02d}", OrgLevel.COUNTY)
        asker = UserFactory(unit=county)
        for type_, priority in zip(
            ["hardware", "software", "consultation", "complaint"], ["P1", "P2", "P3", "P4"], strict=True
        ):
            _ask(asker, type=type_, priority=priority)
    assert len(api.get(API, params).json()["rows"]) >= (11 if group_by == "unit" else 1)

    with django_assert_max_num_queries(api_small):
        assert api.get(API, params).status_code == 200
    with django_assert_max_num_queries(page_small):
        assert client.get(reverse("tickets:reports"), params).status_code == 200
    with django_assert_max_num_queries(page_small):
        assert client.get(reverse("tickets:reports-export"), {**params, "format": "xlsx"}).status_code == 200


def test_the_report_exports_write_a_formula_unit_name_as_text(tree, askers, haidian_admin, client):
    tree.school_a.name = '=HYPERLINK("http://x.example","点我")'
    tree.school_a.save(update_fields=["name"])
    client.force_login(haidian_admin)
    url = reverse("tickets:reports-export")
    csv_response = client.get(url, {"format": "csv", "group_by": "unit"})
    assert csv_response.status_code == 200, csv_response.content[:500]
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert '\'=HYPERLINK("http://x.example","点我")' in cells
    assert not any(cell.startswith("=") for cell in cells)
    xlsx_response = client.get(url, {"format": "xlsx", "group_by": "unit"})
    sheet = load_workbook(io.BytesIO(xlsx_response.content)).active
    values = [cell for row in sheet.iter_rows() for cell in row]
    named = [cell for cell in values if cell.value == '=HYPERLINK("http://x.example","点我")']
    assert named and all(cell.data_type == "s" for cell in named)


# --- The range of days is said, not only enforced (issue 10, item 6) -------------------------------------
def test_the_day_range_is_documented_and_named_when_refused(tree, haidian_admin, auth_client, client):
    first, last = reports.EARLIEST_DAY.isoformat(), reports.LATEST_DAY.isoformat()
    assert (first, last) == ("2000-01-01", "2099-12-31")
    schema = client.get("/api/schema/?format=json").json()
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/tickets/reports/"]["get"]["parameters"]}
    for name in ("date_from", "date_to"):
        assert first in parameters[name]["description"] and last in parameters[name]["description"]
    refused = auth_client(haidian_admin).get("/api/v1/tickets/reports/", {"date_from": "1999-12-31"})
    assert refused.status_code == 400
    assert first in refused.json()["fields"]["date_from"][0] and last in refused.json()["fields"]["date_from"][0]

    client.force_login(haidian_admin)
    page = client.get(reverse("tickets:reports"))
    html = page.content.decode()
    assert f'min="{first}"' in html and f'max="{last}"' in html
    refused = client.get(reverse("tickets:reports"), {"date_to": "2100-01-01"})
    assert refused.status_code == 400
    errors = refused.content.decode().split('id="id_date_to_errors"', 1)[1].split("</ul>", 1)[0]
    assert first in errors and last in errors
