"""Delta sync for the lists a client caches: ``updated_after``, ``removed`` and ``sync_token``.

The protocol (the same for every cached list: tickets now; the knowledge base, notices and chat use
this helper when they land):

1. **First sync.** The client reads the list as usual, page after page. Every page carries a
   ``sync_token``: the same one on every page of that walk (the cursor keeps it), so the client keeps
   it whichever page it reads last.
2. **Next syncs.** ``GET <list>?updated_after=<sync_token>`` answers the rows of the list that changed
   since then, oldest change first, ordered by ``(updated_at, id)`` with a keyset cursor, and in
   ``removed`` the ids of objects that may have been in the client's copy and are no longer in the list:
   deleted, no longer visible to this user, or changed so that they left this list (a ticket another
   agent took is no longer in my ``pool`` list). The client upserts ``results``, drops ``removed``,
   follows ``next`` until it is null, and keeps the ``sync_token`` for the next time.

Exactly once, also when rows change while the client pages: a sync reads the window
``(updated_after, sync_token]``, fixed at its first page and carried by the cursor. A row that changes
during the walk moves past the window's end and comes with the next sync (never twice in one, never
lost). The window ends ``settle`` seconds (``DELTA_SYNC_SETTLE_SECONDS``, default 5) before the
first page was read: ``updated_at`` is stamped when a write is made, not when it commits, and a row
written by a transaction still open at that moment would otherwise land behind a window already read.

A row's ``removed`` entry may name an object the client never had (ignore it); an id in ``removed`` and
in ``results`` of the same sync cannot happen (an object listed now is never reported removed).

Too old to answer: ``updated_after`` older than the tombstones' retention (30 days), or older than a
change of what the user may see as a whole (a role granted or removed, a unit moved in the tree),
gets **410** with code ``resync_required``: the client fetches the list afresh without
``updated_after``. A malformed or future ``updated_after`` is a 400 with a field message.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import BooleanField, Case, DateTimeField, F, Q, QuerySet, Value, When
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from ..models import Tombstone
from ..tombstones import EVERY_KIND, RETENTION
from .pagination import RowValue, SelectorKeysetPagination, StrictPageSize

UPDATED_AFTER = "updated_after"
DEFAULT_SETTLE_SECONDS = 5
# Tombstones read per page: ids only, so many more than rows.
TOMBSTONES_PER_PAGE = 500
# The annotation telling a candidate row that is in the list from one that left it.
LISTED = "delta_listed"

UPDATED_AFTER_HELP = gettext_lazy(
    "Delta sync: only what changed after this moment (ISO 8601 with its offset; send the `sync_token` "
    "of your last sync). Rows come oldest change first by (`updated_at`, `id`); `removed` lists the ids "
    "that left the list. Older than 30 days, or older than a change of what you may see: 410 "
    "`resync_required`, fetch the list afresh."
)
SYNC_TOKEN_HELP = gettext_lazy(
    "Send this as `updated_after` next time to get only what changed since this answer; the same on "
    "every page of one walk. Null where the list cannot be synced by delta."
)
REMOVED_HELP = gettext_lazy(
    "Ids that may be in your copy and are no longer in this list (deleted, no longer yours to see, or "
    "moved out of it): drop them. Empty without `updated_after`."
)


def settle() -> timedelta:
    return timedelta(seconds=getattr(settings, "DELTA_SYNC_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS))


def sync_horizon(now: datetime | None = None) -> datetime:
    """The end of a sync's window: every write stamped up to here has committed (``settle``)."""
    return (now or timezone.now()) - settle()


def sync_token(moment: datetime) -> str:
    """A moment as the API writes it (its time zone, microseconds: ``updated_at`` has them)."""
    return timezone.localtime(moment).isoformat(timespec="microseconds")


class ResyncRequired(exceptions.APIException):
    status_code = 410
    default_code = "resync_required"
    default_detail = gettext_lazy(
        "This sync is too old to answer by changes, or what you may see has changed: fetch the list "
        "again without updated_after."
    )


class UpdatedAfterField(serializers.DateTimeField):
    """An ISO 8601 moment with its offset. A ``+`` left unescaped in a query string arrives as a space
    (``...T10:00:00 08:00``): read back as the ``+`` it was rather than refused."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", UPDATED_AFTER_HELP)
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if isinstance(value, str) and len(value) > 6 and value[-6] == " " and value[-3] == ":":
            value = f"{value[:-6]}+{value[-5:]}"
        moment = super().to_internal_value(value)
        if moment > timezone.now():
            raise serializers.ValidationError(_("This moment is in the future; send the sync_token of your last sync."))
        return moment


@dataclass(frozen=True)
class DeltaSource:
    """What a list's delta reads.

    ``candidates``: rows that are in the list or may have left it by a change of their own (the
    list's query without its narrowing conditions: for "my assigned open tickets", all tickets
    assigned to me); a candidate changed in the window is in ``results`` if it matches ``member``
    now, otherwise in ``removed``. ``member`` None: every candidate is in the list.
    ``kinds``: the tombstone kinds for what left the list without being a candidate any more
    (deleted, handed to someone else); ``user_id`` the reader, whose own tombstones count too.
    """

    candidates: QuerySet
    kinds: tuple[str, ...]
    user_id: int | None
    member: Q | None = None

    def listed(self) -> QuerySet:
        return self.candidates if self.member is None else self.candidates.filter(self.member)


def _tombstones_for(source: DeltaSource) -> QuerySet[Tombstone]:
    readers = Q(user__isnull=True) | Q(user_id=source.user_id) if source.user_id else Q(user__isnull=True)
    return Tombstone.objects.filter(readers)


def check_delta_age(source: DeltaSource, after: datetime, *, now: datetime | None = None) -> None:
    """410 when ``after`` cannot be answered row by row: past the retention, or before a change of
    what this reader may see as a whole (a resync marker)."""
    now = now or timezone.now()
    if after < now - RETENTION:
        raise ResyncRequired()
    resets = _tombstones_for(source).filter(
        kind__in=[*source.kinds, EVERY_KIND], object_id__isnull=True, removed_at__gt=after
    )
    if resets.exists():
        raise ResyncRequired()


def _after(queryset: QuerySet, time_field: str, position: tuple[datetime, int]) -> QuerySet:
    """Rows strictly after ``position`` in (``time_field``, id) order: one row-value comparison, an
    index range that starts at the cursor."""
    moment, pk = position
    return queryset.filter(
        GreaterThan(
            RowValue(F(time_field), F("id")),
            RowValue(Value(moment, output_field=DateTimeField()), Value(pk)),
        )
    )


def _encode_position(position: tuple[datetime, int] | None) -> list | None:
    return None if position is None else [position[0].isoformat(), position[1]]


def _decode_position(value) -> tuple[datetime, int] | None:
    if value is None:
        return None
    moment, pk = value  # ValueError/TypeError on anything else: an invalid cursor
    parsed = parse_datetime(moment) if isinstance(moment, str) else None
    if parsed is None or parsed.tzinfo is None or not isinstance(pk, int) or isinstance(pk, bool):
        raise ValueError("bad position")
    return parsed, pk


@dataclass
class DeltaPage:
    rows: list
    removed: list[int]
    next: str | None
    sync_token: str


class DeltaPagination(StrictPageSize):
    """Pages of one sync's window: the list's changed rows by (``updated_at``, id) and, beside them,
    its tombstones by (``removed_at``, id); the cursor holds both positions and the window, so a
    page is two index ranges however deep the walk is. ``next`` is null when both are exhausted."""

    page_size = 20
    max_page_size = 100
    cursor_query_param = "cursor"
    invalid_cursor_message = gettext_lazy("Invalid cursor")

    def __init__(self, *, page_size: int | None = None, max_page_size: int | None = None) -> None:
        if page_size is not None:
            self.page_size = page_size
        if max_page_size is not None:
            self.max_page_size = max_page_size

    def _decode(self, request, after: datetime) -> tuple[datetime | None, tuple | None, tuple | None]:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None, None, None
        try:
            data = json.loads(base64.urlsafe_b64decode(encoded.encode("ascii")))
            horizon = parse_datetime(data["h"]) if isinstance(data["h"], str) else None
            cursor_after = parse_datetime(data["a"]) if isinstance(data["a"], str) else None
            rows, tombstones = _decode_position(data["p"]), _decode_position(data["t"])
        except (binascii.Error, ValueError, TypeError, KeyError, UnicodeError, AttributeError) as exc:
            raise NotFound(self.invalid_cursor_message) from exc
        # A cursor belongs to one sync: the window it was handed out for.
        if horizon is None or horizon.tzinfo is None or cursor_after != after:
            raise NotFound(self.invalid_cursor_message)
        return horizon, rows, tombstones

    def _encode(self, request, *, after: datetime, horizon: datetime, rows, tombstones) -> str:
        payload = {
            "a": after.isoformat(),
            "h": horizon.isoformat(),
            "p": _encode_position(rows),
            "t": _encode_position(tombstones),
        }
        encoded = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode("ascii")
        return replace_query_param(request.build_absolute_uri(), self.cursor_query_param, encoded)

    def paginate(self, request, source: DeltaSource, *, after: datetime, shape=None) -> DeltaPage:
        """One page of the changes to ``source``'s list after ``after``. ``shape`` turns the page's
        queryset into the rows the serializer reads (columns, names); it keeps the order."""
        size = self.get_page_size(request)
        horizon, row_position, tombstone_position = self._decode(request, after)
        if horizon is None:
            # First page: the window closes here for the whole walk; never before its own start.
            horizon = max(sync_horizon(), after)
        check_delta_age(source, after)

        changed = source.candidates.filter(updated_at__gt=after, updated_at__lte=horizon)
        if row_position is not None:
            changed = _after(changed, "updated_at", row_position)
        changed = changed.order_by("updated_at", "id")
        if source.member is not None:
            changed = changed.annotate(
                **{LISTED: Case(When(source.member, then=True), default=False, output_field=BooleanField())}
            )
        if shape is not None:
            changed = shape(changed)
        fetched = list(changed[: size + 1])
        more_rows = len(fetched) > size
        fetched = fetched[:size]

        tombstones = _tombstones_for(source).filter(
            kind__in=source.kinds, object_id__isnull=False, removed_at__gt=after, removed_at__lte=horizon
        )
        if tombstone_position is not None:
            tombstones = _after(tombstones, "removed_at", tombstone_position)
        gone = list(
            tombstones.order_by("removed_at", "id").values_list("removed_at", "id", "object_id")[
                : TOMBSTONES_PER_PAGE + 1
            ]
        )
        more_tombstones = len(gone) > TOMBSTONES_PER_PAGE
        gone = gone[:TOMBSTONES_PER_PAGE]

        rows = [row for row in fetched if getattr(row, LISTED, True)]
        removed = [row.pk for row in fetched if not getattr(row, LISTED, True)]
        tombstoned = list(dict.fromkeys(object_id for _at, _id, object_id in gone))
        if tombstoned:
            # An object back in the list since (handed back, say) is not removed: it is listed now,
            # with this sync or the next.
            still = set(source.listed().filter(pk__in=tombstoned).values_list("pk", flat=True))
            removed += [pk for pk in tombstoned if pk not in still and pk not in removed]

        next_link = None
        if more_rows or more_tombstones:
            last_row = (fetched[-1].updated_at, fetched[-1].pk) if fetched else row_position
            last_tombstone = (gone[-1][0], gone[-1][1]) if gone else tombstone_position
            next_link = self._encode(request, after=after, horizon=horizon, rows=last_row, tombstones=last_tombstone)
        return DeltaPage(rows=rows, removed=removed, next=next_link, sync_token=sync_token(horizon))

    @staticmethod
    def response(page: DeltaPage, results: list) -> Response:
        return Response(
            {
                "next": page.next,
                "previous": None,
                "results": results,
                "removed": page.removed,
                "sync_token": page.sync_token,
            }
        )


class SyncTokenPagination(SelectorKeysetPagination):
    """A list's ordinary keyset pages, each with the ``sync_token`` a later delta starts from (and an
    empty ``removed``, so a delta and a full page have one shape). The token is the moment of the
    walk's first page, kept in the cursor: anything that changes while the client pages is newer and
    comes with the first delta, whichever page the client read last. A view sets ``sync_supported =
    False`` for a list that cannot be synced by delta (a search, a list the clock changes): null."""

    def decode_cursor(self, request):
        self.horizon = None
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is not None:
            try:
                data = json.loads(base64.urlsafe_b64decode(encoded.encode("ascii")))
                horizon = parse_datetime(data.get("h", "")) if isinstance(data, dict) else None
            except (binascii.Error, ValueError, TypeError, UnicodeError, AttributeError):
                horizon = None
            self.horizon = horizon if horizon is not None and horizon.tzinfo is not None else None
        return super().decode_cursor(request)

    def encode_cursor(self, position, reverse: bool) -> str:
        payload = {"p": position, "r": int(reverse), "h": self.horizon.isoformat()}
        encoded = base64.urlsafe_b64encode(
            json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        ).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def paginate_queryset(self, queryset, request, view=None):
        self.sync_supported = getattr(view, "sync_supported", True)
        page = super().paginate_queryset(queryset, request, view)
        if self.horizon is None:
            self.horizon = sync_horizon()
        return page

    def get_paginated_response(self, data):
        return Response(
            {
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
                "removed": [],
                "sync_token": sync_token(self.horizon) if self.sync_supported else None,
            }
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["removed"] = {
            "type": "array",
            "items": {"type": "integer"},
            "description": str(REMOVED_HELP),
        }
        response["properties"]["sync_token"] = {
            "type": "string",
            "format": "date-time",
            "nullable": True,
            "description": str(SYNC_TOKEN_HELP),
        }
        response["required"] = [*response.get("required", ["results"]), "removed", "sync_token"]
        return response
