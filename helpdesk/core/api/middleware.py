"""Checks query strings before any view runs: NUL characters for the portal and the API alike,
and under ``/api/`` the parameters each operation documents.

PostgreSQL cannot store or compare text that holds a NUL character (``\\x00``): a query that
filters on such a value fails inside the database driver, and the client got a 500 from every
view that passes a query parameter on to a filter (``/org/?q=%00``, ``/org/search/?q=%00``,
``/org/units/1/children/?after=%00``). Forms and serializers refuse NUL field by field, but many
views read a parameter or two (a search word, the ``after`` key of the next page) without one.

One check here, before any view runs, covers every present and future view: no query parameter
of the platform has any use for a NUL, so nothing valid is refused. Request bodies are left to
forms and serializers, which already refuse NUL with a message on the field and keep the rest of
what the user typed.

Under ``/api/`` the query string is also checked against the operation's parameters in the
OpenAPI schema (helpdesk/core/api/query.py): a parameter the schema does not list is refused as an
unknown body field is, and booleans and integers must be what the schema says they are.
"""

from __future__ import annotations

from django.core.validators import ProhibitNullCharactersValidator
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from .errors import _JSON, _is_api
from .query import operation_key, query_errors

NUL = "\x00"


class QueryStringMiddleware:
    """400 for a NUL in a query parameter's name or value (the API's JSON error naming the
    parameter under ``/api/``, the portal's 400 page elsewhere), and under ``/api/`` for a
    parameter the operation does not document or whose value is not of the documented type."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The cheap test first: nearly every query string has neither form of NUL.
        raw = request.META.get("QUERY_STRING", "")
        if "%00" in raw or NUL in raw:
            names = sorted(
                {name for name, values in request.GET.lists() if NUL in name or any(NUL in v for v in values)}
            )
            if names:
                return self._refuse(request, names)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.GET or not _is_api(request):
            return None
        key = operation_key(view_func, request.method)
        errors = query_errors(key, request.GET) if key else {}
        if errors:
            return _invalid(errors)
        return None

    @staticmethod
    def _refuse(request, names: list[str]):
        message = str(ProhibitNullCharactersValidator.message)
        # A NUL in a name would come back in the answer; shown without it.
        shown = [name.replace(NUL, "\ufffd") for name in names]
        if _is_api(request):
            return _invalid({name: [message] for name in shown})
        return render(request, "400.html", {"message": message, "parameters": shown}, status=400)


def _invalid(fields: dict[str, list[str]]) -> JsonResponse:
    """The API's 400 for invalid fields (helpdesk/core/api/errors.py), answered before any view."""
    return JsonResponse(
        {"detail": _("The request is invalid; see the fields."), "code": "invalid", "fields": fields},
        status=400,
        json_dumps_params=_JSON,
    )
