"""The portal's half of the forced password change: an account whose password an administrator
issued or reset reaches nothing but the password page until it has chosen its own.

The API's half is ``accounts.permissions.PasswordChangeNotRequired``: DRF authenticates tokens
inside the view, after every middleware has run, so this middleware leaves ``/api/`` alone.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from helpdesk.core.events import reset_event_origin, session_group_name, set_event_origin

# Reachable before the change: the API (checked by DRF), files the password page itself loads
# (styles, scripts, the captcha image and its refresh, the avatar in the header), the language
# switch, and the health check.
ALWAYS_OPEN_PREFIXES = ("/api/", "/captcha/", "/i18n/", "/media/", "/healthz")


class PasswordChangeRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(ALWAYS_OPEN_PREFIXES):
            # Never diverted, so decided before reading request.user: its first read loads the
            # session's user, which an API call authenticated by its token has none of.
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.password_change_required:
            response = self._divert(request)
            if response is not None:
                return response
        return self.get_response(request)

    def _divert(self, request) -> HttpResponse | None:
        path = request.path_info
        password_page = reverse("accounts:password_change")
        if path in (password_page, reverse("accounts:logout")):
            return None
        if path.startswith((settings.STATIC_URL, *ALWAYS_OPEN_PREFIXES)):
            return None
        target = password_page
        if request.method == "GET" and not request.headers.get("HX-Request"):
            # Back to the page that was asked for once the password is changed.
            target = f"{password_page}?{urlencode({'next': request.get_full_path()}, safe='/')}"
        if request.headers.get("HX-Request"):
            # An htmx request would swap the password page into a fragment; make it navigate instead.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)


class EventOriginMiddleware:
    """The request's events carry the credential that made it as their origin (helpdesk.core.events):
    the browser session here, replaced by the device by DRF's token authentication
    (accounts.authentication), and reset when the request ends. The socket opened with the same
    credential then gets no echo of its own action. Also keeps a browser device's last use current."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        session_key = session.session_key if session is not None else None
        token = set_event_origin(session_group_name(session_key) if session_key else "")
        try:
            response = self.get_response(request)
        finally:
            reset_event_origin(token)
        if session_key and session.session_key == session_key and request.user.is_authenticated:
            from . import services

            services.browser_seen(session=session)
        return response
