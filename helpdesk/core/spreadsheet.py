"""Exports that spreadsheet programs open safely.

A text cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) is taken as a
formula by Excel, WPS and LibreOffice when a CSV is opened: ``=HYPERLINK(…)`` leaks data to a link,
``=cmd|…`` runs a program (CSV injection). Everything a user typed passes through here on its way
into a CSV; numbers stay numbers. In XLSX the cell type says what a value is, so there only text
that openpyxl would store as a formula needs to be marked as text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """The value as a CSV cell: text that would start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_safe_row(values: Iterable[Any]) -> list[Any]:
    return [csv_safe(value) for value in values]


def xlsx_append(sheet, values: Iterable[Any]) -> None:
    """Append a row to an openpyxl sheet with every text cell stored as text, never as a formula."""
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        if cell.data_type == "f":
            cell.data_type = "s"
