"""Device token authentication for the API, which every mobile request passes through.

``Authorization: Token <key>`` (or ``Bearer <key>``), the access token of one signed-in device
(accounts.services.devices). It loads the device, its user and the user's unit in one prepared
statement by the key's digest: almost every call scopes its reads by the caller's unit, and a join
that PostgreSQL plans afresh on every request costs more to plan (0.3 ms) than to run. The device's
last use is written at most every HELPDESK_DEVICE_SEEN_INTERVAL, not on every request.

An authenticated request's events carry the device as their origin (helpdesk.core.events), so the
socket the same device opened does not hear an echo of its own action.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from accounts.models import DeviceSession, User
from helpdesk.core.db import fetch_prepared
from helpdesk.core.events import set_event_origin, token_group_name
from helpdesk.core.ws_auth import TokenCheck, device_credential
from orgtree.models import OrgUnit

from .scope import roles_from_json, scope_preload
from .services.devices import token_digest
from .sql import DEVICE_COLUMNS, device_with_user_and_unit_sql

KEYWORDS = (b"token", b"bearer")


class TokenExpired(exceptions.AuthenticationFailed):
    default_code = "token_expired"
    default_detail = _("The access token has expired; refresh it (POST /api/v1/auth/token/refresh/).")


def _aware(value) -> datetime:
    # SQLite hands back text or naive UTC from a raw query; PostgreSQL an aware datetime.
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if value is None or timezone.is_aware(value) else value.replace(tzinfo=UTC)


@functools.cache
def _attnames(model) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


def load_device(key: str) -> DeviceSession | None:
    """The device whose access token is ``key``, with its user and the user's unit, or None."""
    row = fetch_prepared(device_with_user_and_unit_sql(connection.vendor), [token_digest(key)])
    if row is None:
        return None
    *row, roles = row
    n_device, user_fields = len(DEVICE_COLUMNS), User._meta.concrete_fields
    device_values = row[:n_device]
    user_values = row[n_device : n_device + len(user_fields)]
    if connection.vendor != "postgresql":  # PostgreSQL's are aware datetimes already
        device_values = [
            _aware(v) if name.endswith("_at") else v for name, v in zip(DEVICE_COLUMNS, device_values, strict=True)
        ]
        user_values = [
            _aware(v) if f.get_internal_type() == "DateTimeField" else v
            for f, v in zip(user_fields, user_values, strict=True)
        ]
    device = DeviceSession.from_db("default", DEVICE_COLUMNS, device_values)
    user = User.from_db("default", _attnames(User), user_values)
    unit_values = row[n_device + len(user_fields) :]
    unit = None
    if unit_values[0] is not None:
        unit = OrgUnit.from_db("default", _attnames(OrgUnit), unit_values)
    User.unit.field.set_cached_value(user, unit)
    DeviceSession.user.field.set_cached_value(device, user)
    # The request's scope (accounts.scope) without a query of its own.
    scope_preload(user, roles_from_json(roles))
    return device


def check_token(key: str, *, now: datetime | None = None) -> tuple[DeviceSession | None, str]:
    """The device of a valid access token and "", or None and why: ``token_expired`` or ``unauthenticated``."""
    device = load_device(key)
    if device is None or not device.user.is_active:
        return None, "unauthenticated"
    if device.access_expires_at <= (now or timezone.now()):
        return None, "token_expired"
    return device, ""


class DeviceTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header: send `Token <key>`."))
        try:
            key = parts[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from exc
        now = timezone.now()
        device, refused = check_token(key, now=now)
        if refused == "token_expired":
            raise TokenExpired()
        if device is None:
            raise exceptions.AuthenticationFailed(_("Invalid token, or the device was signed out."))
        if (now - device.last_used_at) >= settings.HELPDESK_DEVICE_SEEN_INTERVAL:
            DeviceSession.objects.filter(pk=device.pk).update(last_used_at=now)
            device.last_used_at = now
        # Reset by accounts.middleware.EventOriginMiddleware when the request ends.
        set_event_origin(token_group_name(device_credential(device.pk)))
        return (device.user, device)

    def authenticate_header(self, request):
        return "Token"


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme (the name DRF's TokenAuthentication had: generated clients keep it)."""

    target_class = DeviceTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="HTTP_AUTHORIZATION", token_prefix="Token")  # noqa: S106 (the scheme word)


class DeviceTokenBackend:
    """The socket's view of device tokens (registered with helpdesk.core.ws_auth by AccountsConfig)."""

    def check_token(self, key: str) -> TokenCheck:
        device, refused = check_token(key)
        if device is None:
            return TokenCheck(refused=refused)
        return TokenCheck(user=device.user, credential=device_credential(device.pk))

    def credential_valid(self, credential: str, user_id: int) -> bool:
        prefix = device_credential(0).removesuffix("0")
        device_id = credential.removeprefix(prefix)
        if not credential.startswith(prefix) or not device_id.isdigit():
            return False
        return DeviceSession.objects.filter(pk=int(device_id), user_id=user_id, expires_at__gt=timezone.now()).exists()
