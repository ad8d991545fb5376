"""One error format for the whole API.

    {"detail": "<summary for people>", "code": "<machine code>", "fields": {"name": ["message", ...]}}

``fields`` is present when the request was invalid field by field. Services raise Django's
``ValidationError``; it becomes a 400 here just like a serializer's.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler


def _as_field_messages(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for name, value in detail.items():
            if isinstance(value, dict):
                for sub, msgs in _as_field_messages(value).items():
                    out[f"{name}.{sub}"] = msgs
            elif isinstance(value, list):
                flat: list[str] = []
                for item in value:
                    if isinstance(item, dict):
                        for sub, msgs in _as_field_messages(item).items():
                            out[f"{name}.{sub}"] = msgs
                    else:
                        flat.append(str(item))
                if flat:
                    out[name] = flat
            else:
                out[name] = [str(value)]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(item) for item in detail]}
    return {"non_field_errors": [str(detail)]}


class RequestTooBig(exceptions.APIException):
    # 400 as Django answers it (and as every body-taking operation documents), in the API's format.
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "too_large"


def _too_big(exc) -> RequestTooBig:
    """Django refuses a body over its limits while DRF reads ``request.data``; left alone, the
    exception escaped the view and Django answered its bare HTML 400 page."""
    # Logged as Django logs every SuspiciousOperation it answers (django.security.<name>).
    logging.getLogger(f"django.security.{exc.__class__.__name__}").error(str(exc))
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        megabytes = f"{limit / (1024 * 1024):g}"
        return RequestTooBig(_("The request body is larger than the limit of %(size)s MB.") % {"size": megabytes})
    return RequestTooBig(_("The request has too many fields or files."))


def exception_handler(exc, context):
    replay = getattr(exc, "idempotent_replay", None)
    if replay is not None:
        # The stored first answer to a request with the same Idempotency-Key (helpdesk/core/api/idempotency.py).
        return replay
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        exc = _too_big(exc)
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(detail=str(exc) or None)

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _as_field_messages(exc.detail)
        non_field = fields.pop("non_field_errors", None)
        body = {
            "detail": non_field[0] if non_field and not fields else _("The request is invalid; see the fields."),
            "code": "invalid",
            "fields": fields if fields else {"non_field_errors": non_field or []},
        }
        if non_field and fields:
            body["fields"]["non_field_errors"] = non_field
        response.data = body
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    detail = getattr(exc, "detail", None)
    codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    response.data = {
        "detail": str(detail) if detail is not None else str(exc),
        "code": codes if isinstance(codes, str) else "error",
    }
    return response


# Django's own handlers answer what never reaches a DRF view: a URL no route matches (an id that
# is not a positive integer, /api/v1/nothing/) or an uncaught exception. API clients get JSON there
# too, the portal keeps its HTML pages.
_JSON = {"ensure_ascii": False}  # as DRF renders: Chinese as UTF-8, not \u escapes


def _is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse(
            {"detail": str(exceptions.NotFound.default_detail), "code": "not_found"},
            status=404,
            json_dumps_params=_JSON,
        )
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse(
            {"detail": str(exceptions.APIException.default_detail), "code": "error"},
            status=500,
            json_dumps_params=_JSON,
        )
    return defaults.server_error(request)


# What an error status means when nothing more specific was said (DRF's own texts and codes).
_BY_STATUS = {
    400: (exceptions.ParseError.default_detail, "bad_request"),
    403: (exceptions.PermissionDenied.default_detail, "permission_denied"),
    404: (exceptions.NotFound.default_detail, "not_found"),
    405: (exceptions.MethodNotAllowed.default_detail, "method_not_allowed"),
}


class ApiJsonErrorMiddleware:
    """Under ``/api/`` every error is the API's JSON, whatever DEBUG is.

    ``handler404`` and ``handler500`` answer JSON only with DEBUG off: with it on (``run_platform``'s
    default) Django answers an unknown URL and an uncaught exception with its HTML debug pages, a
    non-DRF view's wrong method with an empty text/html 405, and a suspicious request (a bad Host)
    with an HTML 400. A phone app cannot read any of them. Such an answer is replaced by the one
    error body here; Django has already logged it (the traceback of a 500 included), and the debug
    page stays available to a browser everywhere outside ``/api/``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not _is_api(request)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        detail, code = _BY_STATUS.get(response.status_code, (None, "error"))
        if response.status_code >= 500:
            detail = exceptions.APIException.default_detail
        elif response.status_code == 405:
            detail = exceptions.MethodNotAllowed.default_detail.format(method=request.method)
        elif detail is None:
            detail = response.reason_phrase
        # Changed in place: the headers the other middlewares set (security, CSP, language) stay.
        response.content = json.dumps({"detail": str(detail), "code": code}, **_JSON).encode()
        response["Content-Type"] = "application/json"
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response
