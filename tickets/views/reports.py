"""Portal page of ticket reports (统计报表): a filter form, a bar chart drawn on the server as inline
SVG (no script, no CDN: intranets may have no internet), the table, and CSV / XLSX exports of the
same table. The figures come from tickets.selectors.reports, which does the scoping and the one aggregate."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.core.forms import apply_errors
from helpdesk.core.spreadsheet import csv_safe_row, xlsx_append

from ..models import Priority, TicketType
from ..selectors import reports
from .tickets import _nav  # the workbench tabs shown above every ticket page

CHART_MAX_BARS = 40
CHART_LABEL_CHARS = 12
# Geometry of the chart, in SVG user units (the SVG scales to the page width).
LABEL_WIDTH, BAR_AREA, VALUE_WIDTH = 180, 460, 140
BAR_HEIGHT, BAR_GAP, CHART_TOP = 18, 8, 34
# The backlog is drawn as a narrower bar inside the total's, so both stay visible when equal.
BACKLOG_INSET = 5
EXPORT_FORMATS = [("csv", "CSV"), ("xlsx", "Excel (XLSX)")]


# The days a report may cover, said where they are picked: the date picker offers no other, its
# tooltip says so, and a day typed outside them gets the error that names them (report_validate).
DAY_ATTRS = {
    "type": "date",
    "min": reports.EARLIEST_DAY.isoformat(),
    "max": reports.LATEST_DAY.isoformat(),
    "title": reports.DAY_RANGE_TEXT,
}


class ReportForm(forms.Form):
    """The report's parameters; empty fields take the defaults (this unit, by unit, the last 30 days)."""

    unit = forms.IntegerField(
        label=gettext_lazy("Unit"), required=False, min_value=1, max_value=reports.MAX_ID, widget=forms.Select
    )
    group_by = forms.ChoiceField(label=gettext_lazy("Group by"), choices=reports.GROUP_BY_CHOICES, required=False)
    period = forms.ChoiceField(label=gettext_lazy("Time unit"), choices=reports.PERIOD_CHOICES, required=False)
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs=DAY_ATTRS, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs=DAY_ATTRS, format="%Y-%m-%d")
    )
    type = forms.ChoiceField(
        label=gettext_lazy("Type"),
        required=False,
        choices=[("", gettext_lazy("All types")), *TicketType.choices],
    )
    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"),
        required=False,
        choices=[("", gettext_lazy("All priorities")), *Priority.choices],
    )

    def __init__(self, *args, unit_choices: list[tuple[int, str]] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].widget.choices = unit_choices or []

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        data["group_by"] = data.get("group_by") or "unit"
        data["period"] = data.get("period") or "month"
        data["date_from"], data["date_to"] = reports.report_dates(data.get("date_from"), data.get("date_to"))
        try:
            reports.report_validate(**reports.report_params(data))
        except ValidationError as exc:
            apply_errors(self, exc)
        return data


class ReportExportForm(ReportForm):
    format = forms.ChoiceField(label=gettext_lazy("File format"), choices=EXPORT_FORMATS)


# --- Table and chart -----------------------------------------------------------------------------
def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _cells(row: dict[str, Any]) -> list[str]:
    return [_percent(row[key]) if kind == "rate" else str(row[key]) for key, _label, kind in reports.REPORT_COLUMNS]


def _shorten(text: str, limit: int = CHART_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def report_chart(report: reports.TicketReport) -> dict[str, Any] | None:
    """Horizontal bars of the tickets per row with the open ones (backlog) drawn over them.
    Coordinates are formatted here so the template writes no localised numbers into the SVG."""
    rows, note = report.rows, ""
    if report.group_by != "period" and len(rows) > CHART_MAX_BARS:
        rows = sorted(rows, key=lambda row: -row["total"])[:CHART_MAX_BARS]
        note = _("The chart shows the %(shown)d rows with the most tickets of %(count)d.") % {
            "shown": CHART_MAX_BARS,
            "count": len(report.rows),
        }
    if not rows:
        return None
    peak = max(row["total"] for row in rows) or 1
    bars = []
    for index, row in enumerate(rows):
        top = CHART_TOP + index * (BAR_HEIGHT + BAR_GAP)
        total_width = row["total"] / peak * BAR_AREA
        bars.append(
            {
                "y": top,
                "backlog_y": top + BACKLOG_INSET,
                "text_y": top + BAR_HEIGHT - 5,
                "label": _shorten(row["label"]),
                "full_label": row["label"],
                "total": row["total"],
                "backlog": row["backlog"],
                "total_width": f"{total_width:.1f}",
                "backlog_width": f"{row['backlog'] / peak * BAR_AREA:.1f}",
                "value_x": f"{LABEL_WIDTH + total_width + 6:.1f}",
            }
        )
    return {
        "bars": bars,
        "note": note,
        "width": LABEL_WIDTH + BAR_AREA + VALUE_WIDTH,
        "height": CHART_TOP + len(rows) * (BAR_HEIGHT + BAR_GAP) + 4,
        "label_x": LABEL_WIDTH - 8,
        "bar_x": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
        "backlog_height": BAR_HEIGHT - 2 * BACKLOG_INSET,
        "legend_x2": LABEL_WIDTH + 90,
    }


# --- Views ---------------------------------------------------------------------------------------
def _unit_choices(user, unit=None) -> tuple[list[tuple[int, str]], list]:
    """The scope's top units and the path down to the chosen unit (indented), for the unit select."""
    chain = reports.report_unit_chain(user=user, unit=unit) if unit is not None else []
    choices: list[tuple[int, str]] = []
    seen = set()
    for top in reports.report_scope_units(user=user):
        choices.append((top.pk, top.name))
        seen.add(top.pk)
        if chain and chain[0].pk == top.pk:
            for depth, link in enumerate(chain[1:], start=1):
                choices.append((link.pk, "\u3000" * depth + link.name))
                seen.add(link.pk)
    return choices, chain


def _require_reporter(request) -> None:
    if not reports.can_view_reports(user=request.user):
        raise PermissionDenied(_("Reports are for supervisors, support agents and reviewers."))


def _build(request, form_class):
    """Validate the query and compute the report; returns (form, report or None)."""
    user = request.user
    _require_reporter(request)
    form = form_class(request.GET, unit_choices=_unit_choices(user)[0])
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    unit = reports.report_unit_get(user=user, unit_id=data.get("unit"))
    try:
        report = reports.ticket_report(user=user, unit=unit, **reports.report_params(data))
    except ValidationError as exc:
        apply_errors(form, exc)
        return form, None
    return form, report


def _render_page(request, form, report, status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {"form": form, "report": report, "columns": reports.REPORT_COLUMNS, **_nav(request.user)}
    if report is not None:
        choices, chain = _unit_choices(request.user, report.unit)
        form.fields["unit"].widget.choices = choices
        # The form shows what the report used, defaults included.
        form.data = form.data.copy()
        used = {
            "unit": str(report.unit.pk),
            "group_by": report.group_by,
            "period": report.period,
            "date_from": report.date_from.isoformat(),
            "date_to": report.date_to.isoformat(),
        }
        for name, value in used.items():
            form.data[name] = value  # QueryDict item assignment replaces; update() would append
        query = form.data.copy()
        query.pop("format", None)
        drill = query.copy()
        drill.pop("unit", None)
        drill["group_by"] = "unit"
        context.update(
            chain=chain,
            chart=report_chart(report),
            table=[{"row": row, "cells": _cells(row)} for row in report.rows],
            total_cells=_cells(report.totals),
            query=query.urlencode(),
            drill_query=drill.urlencode(),
        )
    return render(request, "tickets/reports.html", context, status=status)


@login_required
def report_page(request):
    form, report = _build(request, ReportForm)
    return _render_page(request, form, report, status=200 if report is not None else 400)


def _export_rows(report: reports.TicketReport) -> tuple[list[str], list[list[Any]]]:
    header = [report.group_label] + [str(label) for _key, label, _kind in reports.REPORT_COLUMNS]
    body = []
    for row in [*report.rows, {**report.totals, "label": _("Total")}]:
        # Unit names are typed by administrators; the writers below keep formula-like text as text.
        body.append([row["label"]] + [row[key] for key, _label, _kind in reports.REPORT_COLUMNS])
    return header, body


def _filename(report: reports.TicketReport, extension: str) -> str:
    def day(value: date) -> str:
        return value.strftime("%Y%m%d")

    return (
        f"ticket-report-{report.unit.code}-{report.group_by}-{day(report.date_from)}-{day(report.date_to)}.{extension}"
    )


def _csv_response(report: reports.TicketReport) -> HttpResponse:
    header, body = _export_rows(report)
    rates = {index + 1 for index, (_k, _l, kind) in enumerate(reports.REPORT_COLUMNS) if kind == "rate"}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(csv_safe_row(header))
    for values in body:
        writer.writerow(
            csv_safe_row(
                ("" if value is None else f"{value * 100:.1f}%") if index in rates else value
                for index, value in enumerate(values)
            )
        )
    # The BOM makes spreadsheet programs open the Chinese text as UTF-8.
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(report, "csv")}"'
    return response


def _xlsx_response(report: reports.TicketReport) -> HttpResponse:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    header, body = _export_rows(report)
    rates = {index + 1 for index, (_k, _l, kind) in enumerate(reports.REPORT_COLUMNS) if kind == "rate"}
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Ticket report")[:31]
    xlsx_append(sheet, header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in body:
        xlsx_append(sheet, values)
        for index in rates:
            # Rates are stored as fractions and shown as percentages, so they stay numbers to sum or chart.
            sheet.cell(row=sheet.max_row, column=index + 1).number_format = "0.0%"
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 28
    sheet.freeze_panes = "B2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(report, "xlsx")}"'
    return response


@login_required
def report_export(request):
    form, report = _build(request, ReportExportForm)
    if report is None:
        return _render_page(request, form, None, status=400)
    if form.cleaned_data["format"] == "xlsx":
        return _xlsx_response(report)
    return _csv_response(report)
