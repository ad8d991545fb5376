"""The chat's raw SQL (table names from ``_meta``, values as parameters)."""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from accounts.models import User
from helpdesk.core.eventlog import CURSORS_COLUMN, STORE_CTES

from .models import Block, Conversation, ConversationKind, GroupProfile, MemberRole, Membership, Message, MessageSearch

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


# --- A text message's send as one statement (PostgreSQL) --------------------------------------------
_CONVERSATION = Conversation._meta.db_table
_MESSAGE = Message._meta.db_table
_SEARCH = MessageSearch._meta.db_table
_BLOCK = Block._meta.db_table
_GROUP = GroupProfile._meta.db_table
_USER = User._meta.db_table
_DIRECT = ConversationKind.DIRECT.value
_ADMINS = f"('{MemberRole.ADMIN.value}', '{MemberRole.OWNER.value}')"  # who still sends in a muted group

# Everything chat.services.messages does for a text message under its conversation's row lock, in one
# statement that commits on its own: the checks (an active member; a client id used before; the
# sender's messages of the last second under the per-second limit; in a one-to-one a block either
# way; in a group disbanded, the member or the whole group muted, unless an administrator), then only
# when none refuses: the conversation's number taken under its row lock (the UPDATE locks it, and
# reads the latest committed last_seq if it had to wait), the message, its search row, the sender's
# read position, and every member's chat.message event numbered and stored in their event log
# (helpdesk.core.eventlog.STORE_CTES). ~10 round trips and a transaction became one, and no lock is
# held across a round trip to the process.
#
# The checks read the statement's snapshot, taken before the row lock is waited for: a block or a
# mute committed while this send waited counts from the next send, as if it had come just after it;
# a resend racing its original inserts the same (sender, client id) and fails on the unique
# constraint, which the caller answers with the original. Two sends of one user at once may both
# pass the limit's count: it bounds a client's rate, it is not a quota.
#
# Parameters: the conversation, the user, the client id, the text, the time, the search text, the
# message as every client sees it (``events.message_data``) without its id and seq (the statement adds
# them), the event type, the messages-per-second limit, then STORE_CTES's origin and time. The
# answer: the refusal ("" when stored; "not_found", "earlier", "rate_limited", "blocked",
# "you_blocked", "disbanded", "muted", "all_muted"), the earlier message's id and conversation for
# that client id, the new message's id and seq, every member's read position as JSON
# ``[[user_id, read_seq], …]``, the event cursors (CURSORS_COLUMN) and the conversation's kind.
SEND_TEXT_SQL = f"""
WITH given AS (
    SELECT %s::bigint AS conversation_id, %s::bigint AS user_id, %s::varchar AS client_id, %s::text AS text,
        %s::timestamptz AS now, %s::text AS search, %s::jsonb AS message, %s::varchar AS event_type,
        %s::integer AS rate
), sender AS (
    SELECT m.role, m.muted, c.kind, c.user_low_id, c.user_high_id, g.all_muted, g.disbanded_at
    FROM given
    JOIN {_USER} u ON u.id = given.user_id AND u.is_active
    JOIN {_TABLE} m ON m.conversation_id = given.conversation_id AND m.user_id = given.user_id
    JOIN {_CONVERSATION} c ON c.id = m.conversation_id
    LEFT JOIN {_GROUP} g ON g.conversation_id = c.id
), earlier AS (
    -- e.client_id <> '' lets the generic plan use the partial unique index on (sender, client id);
    -- without it the plan read every message the sender ever sent (1 ms at 2,400 messages).
    SELECT e.id, e.conversation_id FROM {_MESSAGE} e, given
    WHERE given.client_id <> '' AND e.client_id <> '' AND e.sender_id = given.user_id
        AND e.client_id = given.client_id
), recent AS (
    -- The messages-per-second limit: the sender's messages of the last second, at most ``rate`` of
    -- them read from the (sender, created_at) index.
    SELECT count(*) AS n FROM (
        SELECT 1 FROM {_MESSAGE} r, given
        WHERE r.sender_id = given.user_id AND r.created_at > given.now - interval '1 second'
        LIMIT (SELECT rate FROM given)
    ) AS last_second
), peer AS (
    SELECT CASE WHEN sender.user_low_id = given.user_id THEN sender.user_high_id ELSE sender.user_low_id END AS id
    FROM sender, given WHERE sender.kind = '{_DIRECT}'
), refusal AS (
    SELECT CASE
        WHEN sender.kind IS NULL THEN 'not_found'
        WHEN EXISTS (SELECT 1 FROM earlier) THEN 'earlier'
        WHEN (SELECT n FROM recent) >= given.rate THEN 'rate_limited'
        WHEN EXISTS (SELECT 1 FROM {_BLOCK} b, peer WHERE b.blocker_id = peer.id AND b.blocked_id = given.user_id)
            THEN 'blocked'
        WHEN EXISTS (SELECT 1 FROM {_BLOCK} b, peer WHERE b.blocker_id = given.user_id AND b.blocked_id = peer.id)
            THEN 'you_blocked'
        WHEN sender.kind <> '{_DIRECT}' AND sender.disbanded_at IS NOT NULL THEN 'disbanded'
        WHEN sender.kind <> '{_DIRECT}' AND sender.role NOT IN {_ADMINS} AND sender.muted THEN 'muted'
        WHEN sender.kind <> '{_DIRECT}' AND sender.role NOT IN {_ADMINS} AND COALESCE(sender.all_muted, false)
            THEN 'all_muted'
        ELSE '' END AS code
    FROM given LEFT JOIN sender ON true
), conv AS (
    UPDATE {_CONVERSATION} c SET last_seq = c.last_seq + 1, last_message_at = given.now
    FROM given, refusal WHERE c.id = given.conversation_id AND refusal.code = ''
    RETURNING c.id, c.last_seq AS seq
), new_message AS (
    INSERT INTO {_MESSAGE} (conversation_id, seq, sender_id, kind, text, client_id, created_at, recalled_at,
        file, thumbnail, file_name, content_type, size, width, height)
    SELECT conv.id, conv.seq, given.user_id, 'text', given.text, given.client_id, given.now, NULL,
        '', '', '', '', NULL, NULL, NULL
    FROM conv, given
    RETURNING id, seq
), search AS (
    INSERT INTO {_SEARCH} (message_id, text) SELECT new_message.id, given.search FROM new_message, given
), reader AS (
    UPDATE {_TABLE} m SET read_seq = conv.seq, read_at = given.now FROM conv, given
    WHERE m.conversation_id = conv.id AND m.user_id = given.user_id
    RETURNING m.user_id, m.read_seq
), positions AS (
    SELECT user_id, read_seq FROM reader
    UNION ALL
    SELECT m.user_id, m.read_seq FROM {_TABLE} m, conv, given
    WHERE m.conversation_id = conv.id AND m.user_id <> given.user_id
), event_items AS (
    SELECT positions.user_id, 0 AS ord, given.event_type AS type,
        jsonb_build_object('conversation', conv.id, 'unread', GREATEST(conv.seq - positions.read_seq, 0),
            'message', given.message || jsonb_build_object('id', new_message.id, 'seq', new_message.seq)) AS payload
    FROM positions, conv, given, new_message
), {STORE_CTES}
SELECT refusal.code, earlier.id, earlier.conversation_id, new_message.id, new_message.seq,
    (SELECT json_agg(json_build_array(user_id, read_seq)) FROM positions), {CURSORS_COLUMN},
    (SELECT kind FROM sender)
FROM refusal LEFT JOIN earlier ON true LEFT JOIN new_message ON true
"""  # noqa: S608 - table names from the models' metadata; every value is a bound parameter
