"""How the server log reports requests the platform refused on purpose.

Django's ``django.request`` logger writes a line for every 4xx answer, and for a ``PermissionDenied``
(a portal page the user's roles do not open) it adds the exception's traceback: 35 lines for the
platform working as designed, burying the errors someone has to act on. A refusal (403, 404, any
4xx) becomes one line saying what was asked and by whom; a server error (5xx) keeps its traceback.
"""

from __future__ import annotations

import logging
from http import HTTPStatus


def _user_id(request) -> str:
    # Set by AuthenticationMiddleware (lazily) or by DRF's authentication (token users too). Reading
    # it may load the session's user; a log line must never fail for that.
    try:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return "anonymous"
        return str(user.pk)
    except Exception:  # whatever stops us from knowing, the line is still written
        return "?"


class OneLineRefusals(logging.Filter):
    """On ``django.request``: a 4xx record becomes ``Forbidden: GET /path 403 user=12``, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        request = getattr(record, "request", None)
        if status is None or request is None or not 400 <= status < 500:
            return True
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Refused"
        # The path only (a query string can hold what someone searched for), escaped as Django
        # escapes what it logs: a %0A in the URL must not start a forged line.
        path = request.path.encode("unicode_escape").decode("ascii")
        method = str(request.method).encode("unicode_escape").decode("ascii")
        record.msg = "%s: %s %s %d user=%s"
        record.args = (reason, method, path, status, _user_id(request))
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True
