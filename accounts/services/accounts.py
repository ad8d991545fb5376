"""Writes to accounts: issuing, editing, deactivating, passwords, tokens (roles: ``roles.py``)."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils.translation import gettext as _
from pypinyin import Style, lazy_pinyin

from helpdesk.core.tombstones import record_resync
from orgtree.models import OrgUnit

from ..models import DeviceSession, Role, User, UserSearchTerm, UserType
from ..scope import scope_of
from ..selectors import can_manage_unit, can_manage_user
from .devices import token_revoke

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


def _lock_managed(actor: User, user: User) -> None:
    """Inside a transaction: lock the account's row and check ``actor`` still manages it.

    The lock serialises this write with a concurrent role grant to the same account (``role_grant``
    locks the row too), so a reset cannot slip in while the account is being made an administrator
    above the actor. An account the actor does not manage does not exist for it: 404, nothing written.
    """
    User.objects.select_for_update().filter(pk=user.pk).first()
    if not can_manage_user(actor=actor, user=user):
        raise Http404


def _full_clean(user: User, *, exclude: list[str] | None = None) -> None:
    # Django's model validation gives per-field messages for lengths, formats and uniqueness.
    user.full_clean(exclude=["password", *(exclude or [])])


def _ensure_appointed_from_above(actor: User, unit: OrgUnit, role: str) -> None:
    """A unit's administrators are appointed (and removed) from above, never by their peers."""
    if role != Role.UNIT_ADMIN:
        return
    if not scope_of(actor).administers_strictly_above(unit):
        raise ValidationError({"role": [_("Administrators of a unit are appointed by the unit above it.")]})


# --- Account issuing (unit administrators) ------------------------------------------------------
@dataclass
class IssuedAccount:
    user: User
    password: str


def account_prepare(
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
    check_unique: bool = True,
    password_change_required: bool = True,
) -> IssuedAccount:
    """Validate one account to issue and hash its initial password; nothing is written.

    ``check_unique=False`` is for callers that check account names for many rows in one query.
    The issuing administrator knows the initial password, so by default the owner must change it
    at first sign-in; only the demo seed (whose password is published anyway) passes ``False``.
    """
    _ensure_can_manage(actor, unit)
    user = User(
        username=(username or "").strip(),
        name=(name or "").strip(),
        unit=unit,
        user_type=user_type,
        nickname=(nickname or "").strip(),
        phone=(phone or "").strip(),
        email=(email or "").strip(),
        password_change_required=password_change_required,
    )
    user.name_pinyin, user.name_initials = name_pinyin(user.name)
    if check_unique and user.username and User.objects.filter(username__iexact=user.username).exists():
        raise ValidationError({"username": [_("An account with this name already exists.")]})
    user.full_clean(exclude=["password"], validate_unique=check_unique, validate_constraints=check_unique)
    initial_password = password or generate_password()
    try:
        password_validation.validate_password(initial_password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(initial_password)
    return IssuedAccount(user=user, password=initial_password)


def user_create(*, actor: User, **fields: Any) -> IssuedAccount:
    """Issue one account in a unit the actor administers; returns the initial password once.

    ``fields`` are ``account_prepare``'s: username, name, unit, and optionally user_type, nickname,
    phone, email, password and password_change_required (on by default: a one-time password).
    """
    issued = account_prepare(actor=actor, **fields)
    try:
        with transaction.atomic():
            issued.user.save()
            user_refresh_search_terms(user=issued.user)
    except IntegrityError as exc:
        raise ValidationError({"username": [_("An account with this name already exists.")]}) from exc
    return issued


def user_update(*, actor: User, user: User, data: dict[str, Any]) -> User:
    """Edit an account the actor manages; moving it needs rights over the new unit too."""
    unknown = set(data) - set(ADMIN_EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in sorted(unknown)})
    if "unit" in data:
        _ensure_can_manage(actor, data["unit"])
    with transaction.atomic():
        _lock_managed(actor, user)
        placed = (user.unit_id, user.user_type)
        for name, value in data.items():
            setattr(user, name, value.strip() if isinstance(value, str) else value)
        _full_clean(user)
        user.save()
        user_refresh_search_terms(user=user)
        if (user.unit_id, user.user_type) != placed:
            # What reaches the user by its place (notices to its unit and level or type) changed as a
            # whole: its cached lists fetch afresh rather than sync by delta.
            record_resync(user_ids=[user.pk])
    return user


def user_deactivate(*, actor: User, user: User) -> User:
    """The account can no longer sign in: its tokens are revoked and every browser session ends
    for good (bumping ``session_generation`` invalidates them, so reactivation does not revive them)."""
    if user.pk == actor.pk:
        raise ValidationError({"is_active": [_("You cannot deactivate your own account.")]})
    with transaction.atomic():
        _lock_managed(actor, user)
        user.is_active = False
        user.session_generation = F("session_generation") + 1
        user.save(update_fields=["is_active", "session_generation"])
        user.refresh_from_db(fields=["session_generation"])
        # Its sockets get session.ended and close (helpdesk.signals, on the save above, after commit).
        token_revoke(user=user, reason="deactivated")
    return user


def user_activate(*, actor: User, user: User) -> User:
    with transaction.atomic():
        _lock_managed(actor, user)
        user.is_active = True
        user.save(update_fields=["is_active"])
    return user


def user_reset_password(*, actor: User, user: User) -> str:
    """Give the account a new random password (returned once) and sign it out of mobile clients."""
    if user.pk == actor.pk:
        # One's own password changes with the old one (2.2.2), not by an administrator's reset.
        raise ValidationError({"password": [_("Change your own password on the password page.")]})
    new_password = generate_password()
    with transaction.atomic():
        _lock_managed(actor, user)
        user.set_password(new_password)
        # The administrator has seen this password: the owner replaces it at the next sign-in.
        user.password_change_required = True
        user.save(update_fields=["password", "password_change_required"])
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


def password_change(
    *,
    user: User,
    old_password: str,
    new_password: str,
    new_password_confirm: str,
    keep_device: DeviceSession | None = None,
) -> User:
    """Change one's own password (2.2.2). Every other device of the account is signed out and its
    sockets closed; ``keep_device``, the one the change was made from, stays signed in."""
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
        user.password_change_required = False
        user.save(update_fields=["password", "password_change_required"])
        token_revoke(user=user, keep=keep_device)
    return user
