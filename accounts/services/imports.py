"""Bulk issuing of accounts from a CSV or XLSX file (账号批量导入).

The whole file is read and validated before anything is written, then every account is written in
one transaction: a file either issues all its accounts or none, and every bad row is reported with
its line number. Reading is bounded whatever the file holds: the reader stops at the row limit, an
XLSX is streamed (openpyxl's read-only mode) after its unpacked size is checked, and no more than
``IMPORT_MAX_COLUMNS`` columns are looked at.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from orgtree.models import OrgUnit

from ..models import User, UserSearchTerm, UserType
from .accounts import IssuedAccount, account_prepare, search_terms_for

IMPORT_COLUMNS = ("account", "name", "unit_code", "user_type", "nickname", "phone", "email", "password")
IMPORT_HEADER_ALIASES = {
    "账号": "account",
    "姓名": "name",
    "单位代码": "unit_code",
    "用户类型": "user_type",
    "昵称": "nickname",
    "电话": "phone",
    "手机": "phone",
    "邮箱": "email",
    "密码": "password",
}
# How the portal names the columns (the template's header in the user's language: 账号, 姓名 … in
# Chinese), used wherever a message points at a column; "account:" meant nothing to a Chinese reader.
COLUMN_LABELS = {
    "account": pgettext_lazy("import column", "account"),
    "name": pgettext_lazy("import column", "name"),
    "unit_code": pgettext_lazy("import column", "unit_code"),
    "user_type": pgettext_lazy("import column", "user_type"),
    "nickname": pgettext_lazy("import column", "nickname"),
    "phone": pgettext_lazy("import column", "phone"),
    "email": pgettext_lazy("import column", "email"),
    "password": pgettext_lazy("import column", "password"),
}
# The model's fields under the file's column names.
_FIELD_COLUMNS = {"username": "account", "unit": "unit_code"}
USER_TYPE_ALIASES = {"职员": "staff", "工作人员": "staff", "教师": "teacher", "学生": "student", "家长": "parent"}
# Columns beyond these are never read: the file has eight meaningful ones.
IMPORT_MAX_COLUMNS = 32
# An XLSX is a zip of XML; 5 MB of it can unpack to gigabytes. Real account sheets of 5,000 rows
# unpack to a few MB, so anything above this is refused before openpyxl parses it.
XLSX_MAX_UNPACKED_BYTES = 50 * 1024 * 1024
# openpyxl scans a whole sheet when it opens it (to size it, even in read-only mode), so its cost is
# that of the largest sheet, not of the rows we read. Row and cell tags are counted first, at C speed.
_XLSX_SCAN_CHUNK = 1 << 20
# Characters seen when Big5 or Shift-JIS bytes are decoded as GB18030: kana, Greek, Cyrillic and box
# drawing (GB2312 has rows of them) and the private use area (GB18030's user-defined ranges).
_MISDECODED_RANGES = ((0x0370, 0x04FF), (0x2500, 0x257F), (0x3040, 0x30FF), (0xE000, 0xF8FF))


@dataclass
class ImportRowError:
    line: int
    messages: list[str]


@dataclass
class ImportResult:
    """Either every account of the file was created, or none was and ``errors`` says why."""

    created: list[tuple[int, IssuedAccount]] = field(default_factory=list)
    errors: list[ImportRowError] = field(default_factory=list)


def _file_error(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


def _column_label(column: str) -> str:
    label = COLUMN_LABELS.get(column)
    if label is None:
        # A field of the account that is not a column of the file: its own (translated) name.
        try:
            label = User._meta.get_field(column).verbose_name
        except FieldDoesNotExist:
            label = column
    return str(label)


def _column_message(column: str, message: str) -> str:
    return _("%(column)s: %(message)s") % {"column": _column_label(column), "message": message}


def _looks_misdecoded(text: str) -> bool:
    """True when GB18030 text is more likely Big5 or Shift-JIS bytes read the wrong way.

    Simplified Chinese text is almost all GB2312 characters. Big5 and Shift-JIS bytes decoded as
    GB18030 give mostly characters outside GB2312, or kana, Cyrillic and private-use characters.
    A rare name character (喆, 堃) is outside GB2312 too, hence a proportion, not a single hit.
    """
    wide = [c for c in text if ord(c) > 0x7F]
    if not wide:
        return False
    odd = 0
    for char in wide:
        code = ord(char)
        if any(low <= code <= high for low, high in _MISDECODED_RANGES):
            if 0xE000 <= code <= 0xF8FF:
                return True
            odd += 1
            continue
        try:
            char.encode("gb2312")
        except UnicodeEncodeError:
            odd += 1
    return odd * 2 > len(wide)


def _decode_csv(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    message = _("The CSV file is not UTF-8 or GB18030 text. Save it as “CSV UTF-8” and upload it again.")
    try:
        text = content.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise _file_error(message) from exc
    if _looks_misdecoded(text):
        # Big5 (Taiwan, Hong Kong) and Shift-JIS files decode as GB18030 without an error but into
        # other characters; importing them would issue accounts under garbled names.
        raise _file_error(message)
    return text


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(_decode_csv(content)))
    try:
        for row in reader:
            yield row[:IMPORT_MAX_COLUMNS]
    except csv.Error as exc:  # e.g. a cell longer than the csv module's field limit (128 KiB)
        raise _file_error(_("The CSV file could not be read: a cell is too long or malformed.")) from exc


def _count_tags(data: bytes) -> tuple[int, int]:
    # bytes.count runs at memory speed (a regular expression took 0.2 s per MB). Namespace prefixes
    # (<x:row>) count too; a stray match in an attribute only makes the bound a little stricter.
    rows = data.count(b"<row") + data.count(b":row ") + data.count(b":row>")
    cells = sum(data.count(tag) for tag in (b"<c ", b"<c>", b"<c/", b":c ", b":c>"))
    return rows, cells


def _xlsx_tag_counts(archive: zipfile.ZipFile) -> tuple[int, int]:
    """Row and cell tags in all the workbook's sheets, counted on the unpacked XML in chunks."""
    rows = cells = 0
    for info in archive.infolist():
        if "worksheets/" not in info.filename or not info.filename.endswith(".xml"):
            continue
        previous = b""
        with archive.open(info) as part:
            while chunk := part.read(_XLSX_SCAN_CHUNK):
                # Tags cut by the chunk boundary: those found across the seam and in neither side.
                seam_before, seam_after = previous[-8:], chunk[:8]
                seam = _count_tags(seam_before + seam_after)
                before, after = _count_tags(seam_before), _count_tags(seam_after)
                whole = _count_tags(chunk)
                rows += whole[0] + seam[0] - before[0] - after[0]
                cells += whole[1] + seam[1] - before[1] - after[1]
                previous = chunk
    return rows, cells


def _xlsx_rows(content: bytes, *, max_lines: int) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    unreadable = _("The file is not a readable XLSX workbook.")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked > XLSX_MAX_UNPACKED_BYTES:
                raise _file_error(_("The workbook unpacks to more than 50 MB; an account sheet is far smaller."))
            rows, cells = _xlsx_tag_counts(archive)
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError) as exc:
        raise _file_error(unreadable) from exc
    if rows > max_lines or cells > max_lines * IMPORT_MAX_COLUMNS:
        raise _file_error(_("A file holds at most %d rows.") % settings.ACCOUNT_IMPORT_MAX_ROWS)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise _file_error(unreadable) from exc
    try:
        # Read-only mode parses the sheet lazily, row by row: a damaged sheet fails while iterating.
        for row in workbook.worksheets[0].iter_rows(values_only=True, max_col=IMPORT_MAX_COLUMNS):
            yield ["" if value is None else str(value) for value in row]
    except ValidationError:
        raise
    except Exception as exc:
        raise _file_error(unreadable) from exc
    finally:
        workbook.close()


def _read_rows(*, filename: str, content: bytes) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV or XLSX file as (line number, {column: text}); line 1 is the header.

    Stops reading as soon as the file is known to be over the row limit: the cost of a file with a
    million rows is that of the first few thousand.
    """
    max_rows = settings.ACCOUNT_IMPORT_MAX_ROWS
    too_many = _("A file holds at most %d rows.") % max_rows
    # Blank rows are skipped but still read; a sheet of a million blank rows stops too.
    max_lines = 2 * max_rows + 1
    lower = filename.lower()
    if lower.endswith(".csv"):
        raw_rows = _csv_rows(content)
    elif lower.endswith(".xlsx"):
        raw_rows = _xlsx_rows(content, max_lines=max_lines)
    else:
        raise _file_error(_("Upload a .csv or .xlsx file."))
    first = next(raw_rows, None)
    if first is None:
        raise _file_error(_("The file is empty."))
    header = [IMPORT_HEADER_ALIASES.get(h.strip(), h.strip().lower()) for h in first]
    missing = [c for c in ("account", "name", "unit_code") if c not in header]
    if missing:
        labels = ", ".join(_column_label(column) for column in missing)
        raise _file_error(_("The header row lacks these columns: %s") % labels)
    rows: list[tuple[int, dict[str, str]]] = []
    for index, raw in enumerate(raw_rows, start=2):
        if index > max_lines:
            raise _file_error(too_many)
        if not any((cell or "").strip() for cell in raw):
            continue
        if len(rows) == max_rows:
            raise _file_error(too_many)
        rows.append((index, {header[i]: (raw[i] or "").strip() for i in range(min(len(header), len(raw)))}))
    return rows


def _control_character_errors(row: dict[str, str]) -> list[str]:
    # NUL and other control characters are never part of a name, an account or a phone number, and
    # PostgreSQL refuses NUL in text: found here, they name their line instead of failing the write.
    return [
        _("%s: contains a control character.") % _column_label(column)
        for column, value in row.items()
        if any(unicodedata.category(char) == "Cc" for char in value)
    ]


def users_import(*, actor: User, filename: str, content: bytes) -> ImportResult:
    """Issue the accounts of a CSV/XLSX file: all of them, or none and the reasons line by line."""
    if len(content) > settings.ACCOUNT_IMPORT_MAX_BYTES:
        raise _file_error(_("The file is larger than 5 MB."))
    rows = _read_rows(filename=filename, content=content)
    if not rows:
        # A header alone, or only blank rows: "0 accounts created" would read as a success.
        raise _file_error(_("The file holds no accounts: add one account per row below the header row."))
    codes = {row.get("unit_code", "") for _line, row in rows}
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=codes)}
    lowered = {row.get("account", "").lower() for _line, row in rows} - {""}
    taken = set(
        User.objects.annotate(lowered=Lower("username")).filter(lowered__in=lowered).values_list("lowered", flat=True)
    )
    result = ImportResult()
    prepared: list[tuple[int, IssuedAccount]] = []
    seen_accounts: dict[str, int] = {}
    for line, row in rows:
        problems = _control_character_errors(row)
        if problems:
            result.errors.append(ImportRowError(line, problems))
            continue
        account = row.get("account", "")
        key = account.lower()
        if key and key in seen_accounts:
            message = _("The account %(account)s is repeated from line %(line)d.") % {
                "account": account,
                "line": seen_accounts[key],
            }
            result.errors.append(ImportRowError(line, [message]))
            continue
        seen_accounts[key] = line
        if key in taken:
            taken_error = ValidationError({"username": [_("An account with this name already exists.")]})
            result.errors.append(ImportRowError(line, _flatten_errors(taken_error)))
            continue
        unit = units.get(row.get("unit_code", ""))
        if unit is None:
            message = _column_message("unit_code", _("No unit has the code %s.") % row.get("unit_code", ""))
            result.errors.append(ImportRowError(line, [message]))
            continue
        user_type = row.get("user_type") or UserType.STAFF
        user_type = USER_TYPE_ALIASES.get(user_type, user_type.lower())
        try:
            issued = account_prepare(
                actor=actor,
                username=account,
                name=row.get("name", ""),
                unit=unit,
                user_type=user_type,
                nickname=row.get("nickname", ""),
                phone=row.get("phone", ""),
                email=row.get("email", ""),
                password=row.get("password") or None,
                check_unique=False,
            )
        except ValidationError as exc:
            result.errors.append(ImportRowError(line, _flatten_errors(exc)))
            continue
        prepared.append((line, issued))
    if result.errors:
        return result
    try:
        with transaction.atomic():
            User.objects.bulk_create([issued.user for _line, issued in prepared])
            UserSearchTerm.objects.bulk_create(
                [
                    UserSearchTerm(user=issued.user, term=term)
                    for _line, issued in prepared
                    for term in search_terms_for(issued.user)
                ]
            )
    except IntegrityError as exc:
        # Someone issued one of these accounts between the check above and this write.
        message = _("An account in the file was issued by someone else meanwhile; nothing was imported. Try again.")
        raise _file_error(message) from exc
    result.created = prepared
    return result


def _flatten_errors(exc: ValidationError) -> list[str]:
    # Name the file's columns as the portal does, not the model's fields.
    if hasattr(exc, "error_dict"):
        return [
            msg if name == NON_FIELD_ERRORS else _column_message(_FIELD_COLUMNS.get(name, name), msg)
            for name, msgs in exc.message_dict.items()
            for msg in msgs
        ]
    return list(exc.messages)
