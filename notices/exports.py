"""A notice's per-unit read statistics as CSV or XLSX, for the API and the portal alike. Unit names
pass through helpdesk.core.spreadsheet, so a name typed as a formula stays text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _

from helpdesk.core.spreadsheet import csv_safe_row, xlsx_append
from orgtree.models import OrgLevel

from .models import Notice
from .selectors.stats import StatRow

# An XLSX is built in memory; a bigger subtree is exported as CSV, which streams.
XLSX_MAX_ROWS = 100_000


def _header() -> list[str]:
    return [
        _("Unit"),
        _("Code"),
        _("Level"),
        _("Audience"),
        _("Read"),
        _("Read rate"),
        _("Confirmed"),
        _("Confirmation rate"),
    ]


def _values(row: StatRow) -> list:
    level = OrgLevel(row.level).label if row.level is not None else ""
    return [
        row.unit.name,
        row.unit.code,
        str(level),
        row.audience,
        row.read,
        row.read_rate,
        row.confirmed,
        row.confirm_rate,
    ]


def _filename(notice: Notice, extension: str) -> str:
    return f"notice-{notice.pk}-read-stats.{extension}"


class _Echo:
    def write(self, value: str) -> str:
        return value


def stats_export_response(notice: Notice, rows: Iterable[StatRow], *, fmt: str):
    if fmt == "xlsx":
        return _xlsx(notice, rows)

    def stream():
        writer = csv.writer(_Echo())
        # The BOM makes spreadsheet programs open the Chinese text as UTF-8.
        yield "\ufeff" + writer.writerow(csv_safe_row(_header()))
        for row in rows:
            values = _values(row)
            values[5] = f"{row.read_rate * 100:.1f}%"
            values[7] = f"{row.confirm_rate * 100:.1f}%"
            yield writer.writerow(csv_safe_row(values))

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(notice, "csv")}"'
    return response


def _xlsx(notice: Notice, rows: Iterable[StatRow]) -> HttpResponse:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Read statistics")[:31]
    xlsx_append(sheet, _header())
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for count, row in enumerate(rows):
        if count >= XLSX_MAX_ROWS:
            break
        xlsx_append(sheet, _values(row))
        for column in (6, 8):
            sheet.cell(row=sheet.max_row, column=column).number_format = "0.0%"
    sheet.column_dimensions["A"].width = 32
    sheet.freeze_panes = "B2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(notice, "xlsx")}"'
    return response
