"""The realtime events notices sends on ``/ws/``, their payload schemas and builders.

A notice's audience may be the whole country, so what goes to the audience (published, withdrawn,
reminded) is not stored per user: it is sent once per audience piece to the socket group of that
piece's unit (``helpdesk.core.events.send_group_event``), and each socket's filter
(``notices.audience.socket_accepts``) lets it through only to users the piece covers. Those types are
``resumable=False``: a client that was offline reads the inbox with ``updated_after``. ``notice.read``
goes to one user's devices and is stored like any per-user event.
"""

from __future__ import annotations

from django.utils import timezone

from helpdesk.core.event_types import INTEGER, STRING, EventType, obj, register

from .audience import TargetSpec
from .models import Importance, Notice

NOTICE_PUBLISHED = "notice.published"
NOTICE_WITHDRAWN = "notice.withdrawn"
NOTICE_REMINDED = "notice.reminded"
NOTICE_READ = "notice.read"

INBOX = "GET /api/v1/notices/inbox/?updated_after="

_AUDIENCE = obj(
    {
        "path": STRING,
        "subtree": {"type": "boolean"},
        "level_mask": INTEGER,
        "kind_mask": INTEGER,
    }
)
_NOTICE_FIELDS = {
    "id": INTEGER,
    "title": STRING,
    "importance": {"enum": list(Importance.values)},
    "receipt_required": {"type": "boolean"},
    "unit": obj({"id": INTEGER, "name": STRING}),
    "published_at": {"type": "string", "format": "date-time"},
    "audience": _AUDIENCE,
}
_EXAMPLE = {
    "id": 7,
    "title": "关于做好寒假期间校园网络安全工作的通知",
    "importance": Importance.IMPORTANT.value,
    "receipt_required": True,
    "unit": {"id": 3, "name": "北京市"},
    "published_at": "2026-12-05T09:30:00+08:00",
    "audience": {"path": "00010001", "subtree": True, "level_mask": 16, "kind_mask": 0},
}

register(
    EventType(
        NOTICE_PUBLISHED,
        "To everyone in the notice's audience who is connected: a notice arrived in the inbox (the unread "
        "count rises by one). Not stored per user: after a reconnect, read the inbox with updated_after.",
        obj(_NOTICE_FIELDS),
        resumable=False,
        resync_via=INBOX,
        examples=(_EXAMPLE,),
    ),
    EventType(
        NOTICE_WITHDRAWN,
        "To the notice's audience: the publisher withdrew it (it stays in the inbox, marked withdrawn).",
        obj({"id": INTEGER, "withdrawn_at": {"type": "string", "format": "date-time"}, "audience": _AUDIENCE}),
        resumable=False,
        resync_via=INBOX,
        examples=(
            {
                "id": 7,
                "withdrawn_at": "2026-12-05T10:00:00+08:00",
                "audience": _EXAMPLE["audience"],
            },
        ),
    ),
    EventType(
        NOTICE_REMINDED,
        "催阅 of a notice that needs a read receipt, to the units where someone has not confirmed it (to its "
        "whole audience when they are very many): clients show it where their copy is not confirmed; the "
        "inbox marks it `reminded`.",
        obj(
            {
                "id": INTEGER,
                "title": STRING,
                "reminded_at": {"type": "string", "format": "date-time"},
                "audience": _AUDIENCE,
            }
        ),
        resumable=False,
        resync_via=INBOX,
        examples=(
            {
                "id": 7,
                "title": _EXAMPLE["title"],
                "reminded_at": "2026-12-05T11:00:00+08:00",
                "audience": _EXAMPLE["audience"],
            },
        ),
    ),
    EventType(
        NOTICE_READ,
        "To the reader's other devices: a notice was read or its receipt confirmed; the unread count now.",
        obj({"id": INTEGER, "confirmed": {"type": "boolean"}, "unread_count": INTEGER}),
        examples=({"id": 7, "confirmed": False, "unread_count": 2},),
    ),
)


def _when(moment) -> str:
    return timezone.localtime(moment).isoformat()


def published_payload(notice: Notice, target: TargetSpec) -> dict:
    return {
        "id": notice.pk,
        "title": notice.title,
        "importance": notice.importance,
        "receipt_required": notice.receipt_required,
        "unit": {"id": notice.unit_id, "name": notice.unit.name},
        "published_at": _when(notice.published_at),
        "audience": target.as_payload(),
    }


def withdrawn_payload(notice: Notice, target: TargetSpec) -> dict:
    return {"id": notice.pk, "withdrawn_at": _when(notice.withdrawn_at), "audience": target.as_payload()}


def reminded_payload(notice: Notice, target: TargetSpec) -> dict:
    return {
        "id": notice.pk,
        "title": notice.title,
        "reminded_at": _when(notice.reminded_at),
        "audience": target.as_payload(),
    }


def read_payload(notice_id: int, *, confirmed: bool, unread_count: int) -> dict:
    return {"id": notice_id, "confirmed": confirmed, "unread_count": unread_count}
