"""The realtime events of contacts (好友) and groups (群组), stored in each recipient's event log
(resumable, like chat.message): a client that was away receives them on return, and the REST lists
(friend requests, join requests, groups) give the same state.

A group's visible changes (joined, removed, announcement, muted …) are also system messages in the
group's own stream (``chat.message`` with ``kind`` "system"), numbered like any message, so every
member's history tells them in order; the events below carry what a client needs to update its
panels without parsing those sentences.
"""

from __future__ import annotations

from helpdesk.core.event_types import INTEGER, STRING, EventType, obj, register

FRIEND_REQUEST = "chat.friend_request"
FRIEND_REQUEST_DECIDED = "chat.friend_request_decided"
FRIEND_REMOVED = "chat.friend_removed"
GROUP_UPDATED = "chat.group_updated"
GROUP_REMOVED = "chat.group_removed"
GROUP_JOIN_REQUEST = "chat.group_join_request"
GROUP_JOIN_DECIDED = "chat.group_join_decided"

_PERSON = obj({"id": INTEGER, "name": STRING})

register(
    EventType(
        FRIEND_REQUEST,
        "To the recipient (and the sender's other devices): a friend request with its verification message; "
        "`new_requests` is the recipient's count of unseen pending requests (the badge).",
        obj({"request": INTEGER, "from_user": _PERSON, "to_user": _PERSON, "message": STRING, "new_requests": INTEGER}),
        examples=(
            {
                "request": 31,
                "from_user": {"id": 7, "name": "张伟"},
                "to_user": {"id": 9, "name": "李娜"},
                "message": "我是实验小学的张伟",
                "new_requests": 1,
            },
        ),
    ),
    EventType(
        FRIEND_REQUEST_DECIDED,
        "To both sides: the request was accepted (you are friends now; `conversation` is your one-to-one) or "
        "declined (`conversation` null).",
        obj(
            {
                "request": INTEGER,
                "status": {"enum": ["accepted", "declined"]},
                "from_user": _PERSON,
                "to_user": _PERSON,
                "conversation": {"type": ["integer", "null"]},
            }
        ),
    ),
    EventType(
        FRIEND_REMOVED,
        "To both sides: `user` and `friend` are no longer friends (the conversation stays).",
        obj({"user": INTEGER, "friend": INTEGER}),
    ),
    EventType(
        GROUP_UPDATED,
        "To every member: the group changed (`change` says what: created, profile, members_added, member_removed, "
        "member_left, admin, owner, muted, announcement, disbanded, file_added, file_deleted). Read "
        "GET /api/v1/chat/groups/{conversation}/ (and its members, announcements or files) again; the "
        "conversation also gets a system message.",
        obj({"conversation": INTEGER, "change": STRING, "actor": INTEGER}),
        examples=({"conversation": 12, "change": "members_added", "actor": 7},),
    ),
    EventType(
        GROUP_REMOVED,
        "To a user who is no longer a member (removed or left): drop the conversation; its history, files and "
        "events are closed to you from now on.",
        obj({"conversation": INTEGER, "reason": {"enum": ["removed", "left"]}}),
    ),
    EventType(
        GROUP_JOIN_REQUEST,
        "To the group's administrators: someone asked to join (申请加入).",
        obj({"conversation": INTEGER, "request": INTEGER, "user": _PERSON, "message": STRING}),
    ),
    EventType(
        GROUP_JOIN_DECIDED,
        "To the one who asked: an administrator approved (you are a member now) or declined the request.",
        obj({"conversation": INTEGER, "request": INTEGER, "status": {"enum": ["approved", "declined"]}}),
    ),
)
