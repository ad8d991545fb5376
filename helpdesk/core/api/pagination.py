"""Pagination that stays bounded on millions of rows.

List endpoints over big tables use keyset (cursor) pagination: no COUNT(*), no OFFSET that grows
with the page number, one index range per page whatever the table size.
"""

import base64
import binascii
import json
import re
from datetime import datetime

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import F, Field, Func, Q, QuerySet, Value
from django.db.models.expressions import OrderBy
from django.db.models.lookups import GreaterThan, LessThan
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.utils.urls import replace_query_param

_DIGITS = re.compile(r"[0-9]{1,4}")


class StrictPageSize:
    """``page_size`` must be a whole number from 1 to ``max_page_size``, or the answer is a 400
    naming it. DRF falls back to the default size for anything else (``page_size=true``, ``0``,
    ``-5``) and cuts ``10000`` down to the maximum without a word: the client then pages with a
    size it did not ask for and cannot tell. The schema states the same range, so a generated
    client (or schemathesis) sends only sizes the server takes."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = int(raw) if _DIGITS.fullmatch(raw) else 0
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError(
                {
                    self.page_size_query_param: [
                        _("Enter a whole number from %(min)d to %(max)d.") % {"min": 1, "max": self.max_page_size}
                    ]
                }
            )
        return size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
                parameter["description"] = (
                    f"Rows per page, 1 to {self.max_page_size} (default {self.page_size}); anything else is a 400."
                )
        return parameters


class DefaultPagination(StrictPageSize, PageNumberPagination):
    page_size = 20
    max_page_size = 100


class KeysetPagination(StrictPageSize, CursorPagination):
    page_size = 20
    max_page_size = 100
    ordering = "id"
    # A cursor the list did not hand out stays a 404, as DRF answers it and as every list
    # documents: clients already treat it as "start again from the first page".
    cursor_query_description = "The `next` or `previous` link's cursor; one this list did not hand out is a 404."


class RowValue(Func):
    """``(a, b, ...)``, a row value; compared element by element, in index order."""

    template = "(%(expressions)s)"
    output_field = Field()


class CompositeKeysetPagination(KeysetPagination):
    """Keyset pagination on several ascending columns, e.g. ``("term", "user_id")``.

    DRF's cursor keeps the first ordering column only and pages through rows that share its value
    with an OFFSET capped at 1,000: past a thousand users whose pinyin is ``zhangwei`` it would
    repeat or skip rows. Here the cursor holds the whole tuple of the last row and the next page
    starts strictly after it, so every page is one index range however deep it is.

    A view may set ``keyset_ordering`` (a tuple of field or annotation names) per request.
    """

    ordering = ("id",)
    # All columns descending instead (newest first); a subclass's get_ordering may set it per request.
    descending = False

    def get_ordering(self, request, queryset, view):
        ordering = getattr(view, "keyset_ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None, False
        try:
            data = json.loads(base64.urlsafe_b64decode(encoded.encode("ascii")))
            position, reverse = data["p"], bool(data.get("r", False))
        except (binascii.Error, ValueError, TypeError, KeyError, UnicodeError, AttributeError) as exc:
            raise NotFound(self.invalid_cursor_message) from exc
        valid = (
            isinstance(position, list)
            and len(position) == len(self.ordering)
            and all(isinstance(v, int | str) and not isinstance(v, bool) and "\x00" not in str(v) for v in position)
        )
        if not valid:
            raise NotFound(self.invalid_cursor_message)
        return position, reverse

    def encode_cursor(self, position, reverse: bool) -> str:
        payload = json.dumps({"p": position, "r": int(reverse)}, separators=(",", ":"), ensure_ascii=False)
        encoded = base64.urlsafe_b64encode(payload.encode()).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def _position(self, instance) -> list:
        values = []
        for name in self.ordering:
            value = instance[name] if isinstance(instance, dict) else getattr(instance, name)
            values.append(value if isinstance(value, int | str) else str(value))
        return values

    def _beyond(self, queryset, position: list, reverse: bool):
        """Rows strictly after ``position`` in the ordering (before it when going back)."""
        # Ascending forward and descending backward both continue with greater keys.
        greater = reverse == self.descending
        lookup = "gt" if greater else "lt"
        if len(self.ordering) == 1:
            return queryset.filter(**{f"{self.ordering[0]}__{lookup}": position[0]})
        # (a, b) > (x, y)  ⇔  a > x  OR  (a = x AND b > y). Building this also checks the cursor's
        # values against the columns' types (a ValueError for text in an id column).
        expanded = Q(pk__in=[])
        for i, name in enumerate(self.ordering):
            equal = {self.ordering[j]: position[j] for j in range(i)}
            expanded |= Q(**equal, **{f"{name}__{lookup}": position[i]})
        # The same condition as one row-value comparison, which PostgreSQL (and SQLite) turn into
        # an index range that starts at the cursor: the page costs the same however deep it is.
        compare = GreaterThan if greater else LessThan
        row = compare(RowValue(*[F(name) for name in self.ordering]), RowValue(*[Value(v) for v in position]))
        # ``expanded`` only validates: in the SQL, its OR makes PostgreSQL pick a bitmap scan and
        # sort every match (1-2 s for the second page of "张" among a million users, bench/).
        queryset.filter(expanded)
        return queryset.filter(row)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        if not self.page_size:
            return None
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        position, reverse = self.decode_cursor(request)

        flip = reverse != self.descending
        queryset = queryset.order_by(*[f"-{name}" if flip else name for name in self.ordering])
        if position is not None:
            try:
                queryset = self._beyond(queryset, position, reverse)
            except (ValueError, TypeError, ValidationError, OverflowError) as exc:
                # A cursor whose values do not fit the columns (e.g. text for an id).
                raise NotFound(self.invalid_cursor_message) from exc
        rows = list(queryset[: self.page_size + 1])
        more = len(rows) > self.page_size
        self.page = rows[: self.page_size]
        if reverse:
            self.page.reverse()
            self.has_previous, self.has_next = more, position is not None
        else:
            self.has_previous, self.has_next = position is not None, more
        # The links continue from the page's edges; an empty page continues from the cursor itself.
        self.first_position = self._position(self.page[0]) if self.page else position
        self.last_position = self._position(self.page[-1]) if self.page else position
        if (self.has_previous or self.has_next) and self.template is not None:
            self.display_page_controls = True
        return self.page

    def get_next_link(self):
        if not self.has_next or self.last_position is None:
            return None
        return self.encode_cursor(self.last_position, reverse=False)

    def get_previous_link(self):
        if not self.has_previous or self.first_position is None:
            return None
        return self.encode_cursor(self.first_position, reverse=True)


class SelectorKeysetPagination(CompositeKeysetPagination):
    """Keyset pages in the order the selector gave its queryset.

    Lists are newest first (tickets) (``-id``) and the due lists soonest deadline first
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
            # A key may be an annotation (a list ordered by a computed deadline): its output field
            # reads the cursor's value back the same way.
            annotation = queryset.query.annotations.get(name)
            field = annotation.output_field if annotation is not None else queryset.model._meta.get_field(name)
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
