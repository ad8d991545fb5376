"""The chat's raw SQL (table names from ``_meta``, values as parameters)."""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from .models import Membership

_TABLE = Membership._meta.db_table

# PostgreSQL: the sender's read position moves to the new message and everyone's comes back, in one
# round trip (the others' rows are read, not rewritten).
_ADVANCE_PG = f"""
WITH moved AS (
    UPDATE {_TABLE} SET read_seq = %s, read_at = %s
    WHERE conversation_id = %s AND user_id = %s
    RETURNING user_id, read_seq
)
SELECT user_id, read_seq FROM moved
UNION ALL
SELECT user_id, read_seq FROM {_TABLE} WHERE conversation_id = %s AND user_id <> %s
"""  # noqa: S608 - the table name comes from the model's metadata


def advance_sender_read(*, conversation_id: int, user_id: int, seq: int, now: datetime) -> dict[int, int]:
    """Set the sender's read position to ``seq`` (sending reads what came before); every member's
    read position after it, by user id."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_ADVANCE_PG, [seq, now, conversation_id, user_id, conversation_id, user_id])
            return dict(cursor.fetchall())
    Membership.objects.filter(conversation_id=conversation_id, user_id=user_id).update(read_seq=seq, read_at=now)
    return dict(Membership.objects.filter(conversation_id=conversation_id).values_list("user_id", "read_seq"))
