"""Pieces the ticket API views share: error responses for the schema, keyset pagination in a
selector's own order, and the object lookups that turn "not yours" into a 404."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import F, QuerySet, Value
from django.db.models.expressions import OrderBy
from django.db.models.lookups import GreaterThan, LessThan
from drf_spectacular.utils import OpenApiResponse
from rest_framework.exceptions import NotFound

from helpdesk.core.api.pagination import CompositeKeysetPagination, RowValue
from helpdesk.core.api.serializers import ErrorSerializer

from .. import selectors
from ..models import Ticket

ERROR_400 = OpenApiResponse(
    ErrorSerializer,
    description="Invalid input, or an action the ticket's state refuses; `fields` holds a message per field.",
)
ERROR_401 = OpenApiResponse(ErrorSerializer, description="Not signed in, or the token was revoked.")
ERROR_403 = OpenApiResponse(ErrorSerializer, description="Signed in but not allowed.")
ERROR_404 = OpenApiResponse(ErrorSerializer, description="No such ticket, or not one you may see.")
ERROR_404_LIST = OpenApiResponse(
    ErrorSerializer, description="No such ticket, not one you may see, or a `cursor` this list did not hand out."
)
ERROR_404_CURSOR = OpenApiResponse(ErrorSerializer, description="The `cursor` is not one this list handed out.")


def ticket_or_404(*, user, pk: int) -> Ticket:
    """The ticket if ``user`` may see it. Another unit's ticket does not exist for them: 404, not 403,
    so ids cannot be probed."""
    try:
        return selectors.ticket_get(user=user, pk=pk)
    except (Ticket.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


class SelectorKeysetPagination(CompositeKeysetPagination):
    """Keyset pages in the order the selector gave its queryset.

    Ticket lists are newest first (``-id``) and the due lists soonest deadline first
    (``next_due_at, id``): all columns descending or all ascending, the last one unique. A view
    may set ``keyset_ordering`` (e.g. ``("next_due_at", "id")``) for the request. The cursor
    holds the whole key of the page's edge row, datetimes as ISO text, and values are read back
    through the model field, so a forged cursor is a 404 and never a 500 or a text comparison.
    """

    ordering = ("-id",)
    descending = True

    def get_ordering(self, request, queryset, view):
        columns = getattr(view, "keyset_ordering", None) or keyset_columns(queryset)
        self.descending = columns[0].startswith("-")
        return tuple(column.lstrip("-") for column in columns)

    def _position(self, instance) -> list:
        values = []
        for name in self.ordering:
            value = getattr(instance, name)
            values.append(value.isoformat() if isinstance(value, datetime) else value)
        return values

    def _beyond(self, queryset, position: list, reverse: bool):
        fields = []
        values = []
        for name, raw in zip(self.ordering, position, strict=True):
            field = queryset.model._meta.get_field(name)
            value = field.to_python(raw)  # ValidationError for text in an id or a date column
            if value is None:
                raise ValidationError("null cursor value")
            fields.append(field)
            values.append(value)
        # Ascending forward and descending backward both continue with greater keys.
        greater = reverse == self.descending
        if len(values) == 1:
            return queryset.filter(**{f"{self.ordering[0]}__{'gt' if greater else 'lt'}": values[0]})
        compare = GreaterThan if greater else LessThan
        row = compare(
            RowValue(*[F(name) for name in self.ordering]),
            RowValue(*[Value(v, output_field=f) for v, f in zip(values, fields, strict=True)]),
        )
        return queryset.filter(row)


def keyset_columns(queryset: QuerySet) -> tuple[str, ...]:
    """The queryset's ordering as keyset columns: plain model fields, one direction, ending in the
    primary key (added when missing). Anything else falls back to newest first."""
    columns: list[str] = []
    for item in queryset.query.order_by:
        if isinstance(item, OrderBy) and isinstance(item.expression, F):
            item = f"{'-' if item.descending else ''}{item.expression.name}"
        if not isinstance(item, str) or item == "?" or "__" in item:
            return ("-id",)
        name = item.lstrip("-")
        name = "id" if name == "pk" else name
        try:
            field = queryset.model._meta.get_field(name)
        except FieldDoesNotExist:
            return ("-id",)
        if field.null:
            # A null has no place in a keyset; a view that knows its rows have the value says so
            # with ``keyset_ordering``.
            return ("-id",)
        columns.append(f"{'-' if item.startswith('-') else ''}{name}")
    if not columns:
        return ("-id",)
    descending = columns[0].startswith("-")
    if any(column.startswith("-") != descending for column in columns):
        return ("-id",)
    names = [column.lstrip("-") for column in columns]
    if "id" in names:
        columns = columns[: names.index("id") + 1]
    else:
        columns.append("-id" if descending else "id")
    return tuple(columns)


class TicketPagination(SelectorKeysetPagination):
    page_size = 20
    max_page_size = 100


class ThreadPagination(CompositeKeysetPagination):
    """A ticket's timeline, messages and files, oldest first; a client that reconnects continues
    from the last row it saw."""

    ordering = ("id",)
    page_size = 50
    max_page_size = 100
