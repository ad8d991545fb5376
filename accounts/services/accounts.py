"""Writes to accounts: issuing, editing, deactivating, passwords, tokens, roles, bulk import."""

from __future__ import annotations

import csv
import io
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from pypinyin import Style, lazy_pinyin
from rest_framework.authtoken.models import Token

from helpdesk.events import send_event
from orgtree.models import OrgUnit

from .models import HandlingGroup, Role, RoleAssignment, User, UserSearchTerm, UserType
from .selectors import admin_unit_paths, can_manage_unit

ADMIN_EDITABLE_FIELDS = ("name", "nickname", "phone", "email", "user_type", "unit")
PROFILE_EDITABLE_FIELDS = ("nickname", "phone", "email", "avatar")


# --- Search terms -------------------------------------------------------------------------------
def name_pinyin(name: str) -> tuple[str, str]:
    """``张伟`` → ``("zhangwei", "zw")``; characters without pinyin are kept as they are."""
    syllables = [s.lower() for s in lazy_pinyin(name or "", style=Style.NORMAL, errors="default") if s.strip()]
    full = "".join(syllables)
    initials = "".join(s[0] for s in syllables if s)
    return full[:200], initials[:50]


def search_terms_for(user: User) -> set[str]:
    terms = {user.username, user.name, user.nickname, user.name_pinyin, user.name_initials}
    return {"".join(t.split()).lower()[:200] for t in terms if t and t.strip()}


def user_refresh_search_terms(*, user: User) -> None:
    user.name_pinyin, user.name_initials = name_pinyin(user.name)
    User.objects.filter(pk=user.pk).update(name_pinyin=user.name_pinyin, name_initials=user.name_initials)
    wanted = search_terms_for(user)
    existing = set(UserSearchTerm.objects.filter(user=user).values_list("term", flat=True))
    UserSearchTerm.objects.filter(user=user, term__in=existing - wanted).delete()
    UserSearchTerm.objects.bulk_create([UserSearchTerm(user=user, term=t) for t in wanted - existing])


def generate_password(length: int = 12) -> str:
    """A random initial password that Django's validators accept (letters and digits mixed)."""
    # No look-alikes (l, I, 1, O, 0): administrators read these out to people.
    alphabet = "".join(c for c in string.ascii_letters + string.digits if c not in "lI1O0")
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate


# --- Validation ---------------------------------------------------------------------------------
def _ensure_can_manage(actor: User, unit: OrgUnit | None, field_name: str = "unit") -> None:
    if unit is None:
        raise ValidationError({field_name: [_("Choose a unit.")]})
    if not can_manage_unit(actor=actor, unit=unit):
        message = _("You can only manage accounts in your own unit and the units below it.")
        raise ValidationError({field_name: [message]})


def _full_clean(user: User, *, exclude: list[str] | None = None) -> None:
    # Django's model validation gives per-field messages for lengths, formats and uniqueness.
    user.full_clean(exclude=["password", *(exclude or [])])


def _ensure_appointed_from_above(actor: User, unit: OrgUnit, role: str) -> None:
    """A unit's administrators are appointed (and removed) from above, never by their peers."""
    if role != Role.UNIT_ADMIN or actor.is_superuser:
        return
    if not any(unit.path.startswith(p) and unit.path != p for p in admin_unit_paths(actor=actor)):
        raise ValidationError({"role": [_("Administrators of a unit are appointed by the unit above it.")]})


# --- Account issuing (unit administrators) ------------------------------------------------------
@dataclass
class IssuedAccount:
    user: User
    password: str


def user_create(
    *,
    actor: User,
    username: str,
    name: str,
    unit: OrgUnit | None,
    user_type: str = UserType.STAFF,
    nickname: str = "",
    phone: str = "",
    email: str = "",
    password: str | None = None,
) -> IssuedAccount:
    """Issue one account in a unit the actor administers; returns the initial password once."""
    _ensure_can_manage(actor, unit)
    user = User(
        username=(username or "").strip(),
        name=(name or "").strip(),
        unit=unit,
        user_type=user_type,
        nickname=(nickname or "").strip(),
        phone=(phone or "").strip(),
        email=(email or "").strip(),
    )
    user.name_pinyin, user.name_initials = name_pinyin(user.name)
    _full_clean(user)
    initial_password = password or generate_password()
    try:
        password_validation.validate_password(initial_password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(initial_password)
    try:
        with transaction.atomic():
            user.save()
            user_refresh_search_terms(user=user)
    except IntegrityError as exc:
        raise ValidationError({"username": [_("An account with this name already exists.")]}) from exc
    return IssuedAccount(user=user, password=initial_password)


def user_update(*, actor: User, user: User, data: dict[str, Any]) -> User:
    """Edit an account the actor manages; moving it needs rights over the new unit too."""
    unknown = set(data) - set(ADMIN_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in sorted(unknown)})
    _ensure_can_manage(actor, user.unit)
    if "unit" in data:
        _ensure_can_manage(actor, data["unit"])
    for name, value in data.items():
        setattr(user, name, value.strip() if isinstance(value, str) else value)
    _full_clean(user)
    with transaction.atomic():
        user.save()
        user_refresh_search_terms(user=user)
    return user


def user_deactivate(*, actor: User, user: User) -> User:
    _ensure_can_manage(actor, user.unit)
    if user.pk == actor.pk:
        raise ValidationError({"is_active": [_("You cannot deactivate your own account.")]})
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        token_revoke(user=user)
        send_event(user_ids=[user.pk], event_type="session.ended", payload={"reason": "deactivated"})
    return user


def user_activate(*, actor: User, user: User) -> User:
    _ensure_can_manage(actor, user.unit)
    user.is_active = True
    user.save(update_fields=["is_active"])
    return user


def user_reset_password(*, actor: User, user: User) -> str:
    """Give the account a new random password (returned once) and sign it out of mobile clients."""
    _ensure_can_manage(actor, user.unit)
    if user.pk == actor.pk:
        # One's own password changes with the old one (2.2.2), not by an administrator's reset.
        raise ValidationError({"password": [_("Change your own password on the password page.")]})
    new_password = generate_password()
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        token_revoke(user=user)
    return new_password


# --- Self service -------------------------------------------------------------------------------
def profile_update(*, user: User, data: dict[str, Any]) -> User:
    unknown = set(data) - set(PROFILE_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in sorted(unknown)})
    if data.get("avatar"):
        validate_avatar(data["avatar"])
    for name, value in data.items():
        setattr(user, name, value.strip() if isinstance(value, str) else value)
    _full_clean(user)
    with transaction.atomic():
        user.save()
        user_refresh_search_terms(user=user)
    return user


def validate_avatar(upload: UploadedFile) -> None:
    from PIL import Image, UnidentifiedImageError

    if upload.size > settings.AVATAR_MAX_BYTES:
        raise ValidationError({"avatar": [_("An avatar is at most 2 MB.")]})
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image.verify()
            kind = (image.format or "").upper()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError({"avatar": [_("Upload a valid PNG, JPEG, GIF or WebP image.")]}) from exc
    finally:
        upload.seek(0)
    if kind not in {"PNG", "JPEG", "GIF", "WEBP"}:
        raise ValidationError({"avatar": [_("Upload a valid PNG, JPEG, GIF or WebP image.")]})


def password_change(*, user: User, old_password: str, new_password: str, new_password_confirm: str) -> User:
    """Change one's own password (2.2.2); every mobile token of the account stops working."""
    errors: dict[str, list[str]] = {}
    if not user.check_password(old_password or ""):
        errors["old_password"] = [_("Your old password was entered incorrectly.")]
    if new_password != new_password_confirm:
        errors["new_password_confirm"] = [_("The two password fields didn't match.")]
    if not errors:
        try:
            password_validation.validate_password(new_password, user)
        except ValidationError as exc:
            errors["new_password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        token_revoke(user=user)
    return user


# --- Tokens for mobile clients ------------------------------------------------------------------
def token_issue(*, user: User) -> Token:
    token, _created = Token.objects.get_or_create(user=user)
    return token


def token_revoke(*, user: User) -> None:
    Token.objects.filter(user=user).delete()


# --- Roles --------------------------------------------------------------------------------------
def role_grant(
    *,
    actor: User,
    user: User,
    unit: OrgUnit,
    role: str,
    handling_groups: list[HandlingGroup] | None = None,
    on_duty: bool = True,
) -> RoleAssignment:
    if role not in Role.values:
        raise ValidationError({"role": [_("Choose a valid role.")]})
    _ensure_can_manage(actor, unit)
    _ensure_can_manage(actor, user.unit, "user")
    _ensure_appointed_from_above(actor, unit, role)
    with transaction.atomic():
        assignment, _created = RoleAssignment.objects.get_or_create(
            user=user, unit=unit, role=role, defaults={"on_duty": on_duty}
        )
        if role == Role.SUPPORT_AGENT:
            assignment.on_duty = on_duty
            assignment.save(update_fields=["on_duty"])
            if handling_groups is not None:
                assignment.handling_groups.set(handling_groups)
    return assignment


def role_revoke(*, actor: User, assignment: RoleAssignment) -> None:
    _ensure_can_manage(actor, assignment.unit)
    _ensure_appointed_from_above(actor, assignment.unit, assignment.role)
    assignment.delete()


def agent_set_duty(*, assignment: RoleAssignment, on_duty: bool) -> RoleAssignment:
    """An agent goes on or off duty (routing skips agents who are off duty)."""
    if assignment.role != Role.SUPPORT_AGENT:
        raise ValidationError({"role": [_("Only support agents go on and off duty.")]})
    assignment.on_duty = on_duty
    assignment.save(update_fields=["on_duty"])
    return assignment


# --- Bulk import --------------------------------------------------------------------------------
IMPORT_COLUMNS = ("account", "name", "unit_code", "user_type", "nickname", "phone", "email", "password")
IMPORT_HEADER_ALIASES = {
    "账号": "account", "姓名": "name", "单位代码": "unit_code", "用户类型": "user_type",
    "昵称": "nickname", "电话": "phone", "手机": "phone", "邮箱": "email", "密码": "password",
}
USER_TYPE_ALIASES = {"职员": "staff", "工作人员": "staff", "教师": "teacher", "学生": "student", "家长": "parent"}


@dataclass
class ImportRowError:
    line: int
    messages: list[str]


@dataclass
class ImportResult:
    created: list[tuple[int, IssuedAccount]] = field(default_factory=list)
    errors: list[ImportRowError] = field(default_factory=list)


def _read_rows(*, filename: str, content: bytes) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV or XLSX file as (line number, {column: text}); line 1 is the header."""
    lower = filename.lower()
    if lower.endswith(".csv"):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = content.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise ValidationError({"file": [_("The CSV file is not UTF-8 or GB18030 text.")]}) from exc
        try:
            raw_rows = list(csv.reader(io.StringIO(text)))
        except csv.Error as exc:  # e.g. a cell longer than the csv module's field limit (128 KiB)
            message = _("The CSV file could not be read: a cell is too long or malformed.")
            raise ValidationError({"file": [message]}) from exc
    elif lower.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            # Read-only mode parses the sheet lazily: a damaged sheet fails here, not on load.
            sheet = workbook.worksheets[0]
            raw_rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            workbook.close()
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise ValidationError({"file": [_("The file is not a readable XLSX workbook.")]}) from exc
    else:
        raise ValidationError({"file": [_("Upload a .csv or .xlsx file.")]})
    if not raw_rows:
        raise ValidationError({"file": [_("The file is empty.")]})
    header = [IMPORT_HEADER_ALIASES.get(h.strip(), h.strip().lower()) for h in raw_rows[0]]
    missing = [c for c in ("account", "name", "unit_code") if c not in header]
    if missing:
        raise ValidationError({"file": [_("The header row lacks these columns: %s") % ", ".join(missing)]})
    rows = []
    for index, raw in enumerate(raw_rows[1:], start=2):
        if not any((cell or "").strip() for cell in raw):
            continue
        rows.append((index, {header[i]: (raw[i] or "").strip() for i in range(min(len(header), len(raw)))}))
    if len(rows) > settings.ACCOUNT_IMPORT_MAX_ROWS:
        raise ValidationError({"file": [_("A file holds at most %d rows.") % settings.ACCOUNT_IMPORT_MAX_ROWS]})
    return rows


def users_import(*, actor: User, filename: str, content: bytes) -> ImportResult:
    """Issue accounts from a CSV/XLSX file. Every bad row is reported with its line number and
    reason; every good row is created (each row in its own savepoint)."""
    if len(content) > settings.ACCOUNT_IMPORT_MAX_BYTES:
        raise ValidationError({"file": [_("The file is larger than 5 MB.")]})
    rows = _read_rows(filename=filename, content=content)
    codes = {row.get("unit_code", "") for _line, row in rows}
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=codes)}
    result = ImportResult()
    seen_accounts: dict[str, int] = {}
    for line, row in rows:
        account = row.get("account", "")
        if account in seen_accounts:
            result.errors.append(
                ImportRowError(line, [_("The account %(account)s is repeated from line %(line)d.")
                                      % {"account": account, "line": seen_accounts[account]}])
            )
            continue
        seen_accounts[account] = line
        unit = units.get(row.get("unit_code", ""))
        if unit is None:
            message = _("unit_code: no unit has the code %s.") % row.get("unit_code", "")
            result.errors.append(ImportRowError(line, [message]))
            continue
        user_type = row.get("user_type") or UserType.STAFF
        user_type = USER_TYPE_ALIASES.get(user_type, user_type.lower())
        try:
            with transaction.atomic():
                issued = user_create(
                    actor=actor,
                    username=account,
                    name=row.get("name", ""),
                    unit=unit,
                    user_type=user_type,
                    nickname=row.get("nickname", ""),
                    phone=row.get("phone", ""),
                    email=row.get("email", ""),
                    password=row.get("password") or None,
                )
        except ValidationError as exc:
            result.errors.append(ImportRowError(line, _flatten_errors(exc)))
            continue
        result.created.append((line, issued))
    return result


def _flatten_errors(exc: ValidationError) -> list[str]:
    # Name the file's columns, not the model's fields.
    column = {"username": "account", "unit": "unit_code"}
    if hasattr(exc, "error_dict"):
        return [f"{column.get(name, name)}: {msg}" for name, msgs in exc.message_dict.items() for msg in msgs]
    return list(exc.messages)
