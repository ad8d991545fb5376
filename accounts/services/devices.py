"""Signed-in devices: each sign-in is its own device with its own credential.

An app (phone, script) signs in for an access token and a refresh token. The access token is sent as
``Authorization: Token <key>`` (or ``Bearer``) and expires after ``HELPDESK_ACCESS_TOKEN_TTL``; the
refresh token trades both for a new pair (rotation: the old pair stops working at once) until
``HELPDESK_REFRESH_TOKEN_TTL`` after the last refresh, so a phone in use stays signed in and one left
in a drawer signs itself out. A browser's portal sign-in is a device too (its Django session), so the
owner sees and revokes both kinds on one list.

Whenever a device ends (sign-out, revocation, password change, deactivation) its open sockets are
closed after commit (``helpdesk.core.events.close_sockets`` on the device's credential group).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from helpdesk.core.events import close_sockets, session_group_name, token_group_name
from helpdesk.core.ws_auth import device_credential

from ..models import DeviceKind, DeviceSession, User

NAME_MAX = DeviceSession._meta.get_field("name").max_length


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def credential_group(device: DeviceSession) -> str:
    """The socket group of the device's credential (helpdesk.core.consumers.credential_groups)."""
    if device.kind == DeviceKind.BROWSER:
        return session_group_name(device.session_key)
    return token_group_name(device_credential(device.pk))


# (marker in the User-Agent, name shown), first match wins: Edge and Opera also say Chrome, Chrome
# also says Safari, WeChat's browser says everything.
BROWSERS = (
    ("MicroMessenger/", "WeChat"),
    ("DingTalk", "DingTalk"),
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("CriOS/", "Chrome"),
    ("Safari/", "Safari"),
)
SYSTEMS = (
    ("HarmonyOS", "HarmonyOS"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def _browser_name(user_agent: str) -> str | None:
    """ "Chrome (Windows)" for a browser's User-Agent; None for anything else (an app's own)."""
    browser = next((name for marker, name in BROWSERS if marker in user_agent), None)
    if browser is None or not user_agent.startswith("Mozilla/"):
        return None
    system = next((name for marker, name in SYSTEMS if marker in user_agent), None)
    return f"{browser} ({system})" if system else browser


def device_name(*, given: str | None, user_agent: str | None, fallback: str) -> str:
    """The name the owner recognises the device by: the client's own, else what its User-Agent says
    (a browser and its system, or an app's own User-Agent as it is)."""
    given = " ".join((given or "").split())
    user_agent = " ".join((user_agent or "").split())
    name = given or (user_agent and (_browser_name(user_agent) or user_agent)) or fallback
    return name[:NAME_MAX]


@dataclass(frozen=True)
class IssuedTokens:
    """What a sign-in or a refresh hands the app, once: the keys exist nowhere else in clear."""

    device: DeviceSession
    key: str
    refresh_token: str

    @property
    def expires_at(self) -> datetime:
        return self.device.access_expires_at

    @property
    def refresh_expires_at(self) -> datetime:
        return self.device.expires_at


def _new_pair(device: DeviceSession, now: datetime) -> tuple[str, str]:
    key, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    device.access_digest, device.refresh_digest = token_digest(key), token_digest(refresh)
    device.access_expires_at = now + settings.HELPDESK_ACCESS_TOKEN_TTL
    device.expires_at = now + settings.HELPDESK_REFRESH_TOKEN_TTL
    device.last_used_at = now
    return key, refresh


def token_issue(*, user: User, name: str = "") -> IssuedTokens:
    """A new device for ``user`` (a sign-in), with its own access and refresh tokens."""
    now = timezone.now()
    device = DeviceSession(user=user, kind=DeviceKind.APP, name=(name or _("App"))[:NAME_MAX], created_at=now)
    key, refresh = _new_pair(device, now)
    device.save()
    return IssuedTokens(device=device, key=key, refresh_token=refresh)


def token_refresh(*, refresh_token: str) -> IssuedTokens:
    """Trade a refresh token for a new pair; the old access and refresh tokens stop working."""
    now = timezone.now()
    with transaction.atomic():
        device = (
            DeviceSession.objects.select_for_update()
            .select_related("user")
            .filter(kind=DeviceKind.APP, refresh_digest=token_digest(refresh_token or ""))
            .first()
        )
        if device is None or not device.user.is_active:
            raise ValidationError({"refresh_token": [_("This refresh token is not valid; sign in again.")]})
        expired = device.expires_at <= now
        if expired:
            # The device has signed itself out: committed before the refusal below.
            _end(device, reason="token_revoked")
        else:
            key, refresh = _new_pair(device, now)
            device.save(
                update_fields=["access_digest", "refresh_digest", "access_expires_at", "expires_at", "last_used_at"]
            )
    if expired:
        raise ValidationError({"refresh_token": [_("This refresh token has expired; sign in again.")]})
    return IssuedTokens(device=device, key=key, refresh_token=refresh)


def _end(device: DeviceSession, *, reason: str) -> None:
    """Delete the device, end its browser session, and close its sockets after commit."""
    close_sockets(groups=[credential_group(device)], reason=reason)
    if device.kind == DeviceKind.BROWSER:
        _session_store(device.session_key).delete()
    device.delete()


def _session_store(session_key: str) -> SessionBase:
    engine = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    return engine(session_key=session_key)


def device_sign_out(*, device: DeviceSession) -> None:
    """The device signs itself out (the API's sign-out): only its own credential ends."""
    with transaction.atomic():
        _end(device, reason="signed_out")


def device_revoke(*, user: User, device_id: int) -> None:
    """The owner signs one of its devices out from another (我的设备); not one's own: 404."""
    with transaction.atomic():
        device = DeviceSession.objects.select_for_update().filter(pk=device_id, user=user).first()
        if device is None:
            raise Http404
        _end(device, reason="token_revoked")


def token_revoke(*, user: User, keep: DeviceSession | None = None, reason: str = "token_revoked") -> None:
    """End every device of ``user`` except ``keep`` (password change, reset, deactivation)."""
    devices = DeviceSession.objects.filter(user=user)
    if keep is not None:
        devices = devices.exclude(pk=keep.pk)
    devices = list(devices.only("pk", "kind", "session_key"))
    if not devices:
        return
    close_sockets(groups=[credential_group(d) for d in devices], reason=reason)
    for device in devices:
        if device.kind == DeviceKind.BROWSER:
            _session_store(device.session_key).delete()
    DeviceSession.objects.filter(pk__in=[d.pk for d in devices]).delete()


# --- Browser sessions -----------------------------------------------------------------------------
def browser_signed_in(*, user: User, session: SessionBase, user_agent: str | None) -> DeviceSession | None:
    """Record a portal (or back office) sign-in as a device; called on ``user_logged_in``."""
    if not session.session_key:
        session.save()
    now = timezone.now()
    device, _created = DeviceSession.objects.update_or_create(
        session_key=session.session_key,
        defaults={
            "user": user,
            "kind": DeviceKind.BROWSER,
            "name": device_name(given=None, user_agent=user_agent, fallback=_("Browser")),
            "created_at": now,
            "last_used_at": now,
            "expires_at": session.get_expiry_date(),
        },
    )
    return device


def browser_session_moved(*, old_key: str | None, session: SessionBase) -> None:
    """The session got a new key (``update_session_auth_hash`` after one's own password change)."""
    if old_key and session.session_key and old_key != session.session_key:
        DeviceSession.objects.filter(session_key=old_key).update(
            session_key=session.session_key, expires_at=session.get_expiry_date()
        )


def browser_signed_out(*, session_key: str | None) -> None:
    """The session signs out; its sockets are closed by helpdesk.signals on ``user_logged_out``."""
    if session_key:
        DeviceSession.objects.filter(session_key=session_key).delete()


def browser_seen(*, session: SessionBase, now: datetime | None = None) -> None:
    """Refresh a browser device's last use, at most every HELPDESK_DEVICE_SEEN_INTERVAL: the session
    remembers when it was last written, so most pages cost no query."""
    now = now or timezone.now()
    seen = session.get("_device_seen")
    if seen is not None and now.timestamp() - seen < settings.HELPDESK_DEVICE_SEEN_INTERVAL.total_seconds():
        return
    session["_device_seen"] = now.timestamp()
    DeviceSession.objects.filter(session_key=session.session_key).update(
        last_used_at=now, expires_at=session.get_expiry_date()
    )


def devices_clear_expired(*, now: datetime | None = None) -> int:
    """Forget devices past their end (hourly, with the expired sessions); they were already off the
    lists and refused. Their sockets, if any are still open, are closed too."""
    now = now or timezone.now()
    with transaction.atomic():
        devices = list(DeviceSession.objects.filter(expires_at__lte=now).only("pk", "kind", "session_key")[:10_000])
        if devices:
            close_sockets(groups=[credential_group(d) for d in devices], reason="token_revoked")
            DeviceSession.objects.filter(pk__in=[d.pk for d in devices]).delete()
    return len(devices)
