"""Sockets end with the credential that opened them (helpdesk.core.consumers).

Receivers rather than calls in each write path, so that every way a credential ends is covered: the
portal's and the back office's sign-out, and an account deactivated in the back office. An app
device's tokens end in accounts.services.devices (sign-out, revocation, password change or reset,
deactivation), which closes that device's sockets itself.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_out

from .core.events import close_sockets, session_group_name, user_group_name


def _close_session_sockets(sender, request, user, **kwargs) -> None:
    # Sent by logout() before it flushes the session: the key is still the one the sockets were
    # opened with. Only this session's sockets close; the account's other devices stay connected.
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        close_sockets(groups=[session_group_name(session_key)], reason="signed_out")


def _close_deactivated_users_sockets(sender, instance, **kwargs) -> None:
    if not instance.is_active:
        close_sockets(groups=[user_group_name(instance.pk)], reason="deactivated")


def connect() -> None:
    from django.conf import settings
    from django.db.models.signals import post_save

    user_logged_out.connect(_close_session_sockets, dispatch_uid="helpdesk.close_session_sockets")
    post_save.connect(
        _close_deactivated_users_sockets,
        sender=settings.AUTH_USER_MODEL,
        dispatch_uid="helpdesk.close_deactivated_users_sockets",
    )
