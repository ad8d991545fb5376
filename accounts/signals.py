"""A portal or back-office sign-in is a device on the owner's list (accounts.services.devices)."""

from __future__ import annotations

from . import services


def record_browser_sign_in(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    services.browser_signed_in(user=user, session=session, user_agent=request.META.get("HTTP_USER_AGENT"))


def forget_browser_sign_in(sender, request, user, **kwargs) -> None:
    # Sent before logout() flushes the session: the key is still the signed-in one. Its sockets are
    # closed by helpdesk.signals on the same signal.
    session = getattr(request, "session", None)
    services.browser_signed_out(session_key=getattr(session, "session_key", None))
