"""Chat reads. Only members read a conversation, its messages and files: anything else is a 404,
as if it did not exist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Exists, F, OuterRef, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from helpdesk.core.search import filter_by_words

from .models import (
    FONT_SIZE_DEFAULT,
    Block,
    ChatPreference,
    Conversation,
    ConversationKind,
    Membership,
    Message,
    MessageHidden,
    MessageSearch,
)

HISTORY_PAGE = 50
HISTORY_PAGE_MAX = 200
CONVERSATION_LIST_MAX = 200


def as_id(value) -> int:
    """An id from a URL or a frame; anything else is a 404 (as for an id that does not exist)."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        raise Http404 from None
    if pk <= 0 or pk > 2**62:
        raise Http404
    return pk


def membership_get(*, user: User, conversation_id) -> Membership:
    """The user's membership of the conversation (with it), or 404."""
    found = (
        Membership.objects.filter(user=user, conversation_id=as_id(conversation_id))
        .select_related("conversation")
        .first()
    )
    if found is None:
        raise Http404
    return found


def conversation_get(*, user: User, pk) -> Conversation:
    return membership_get(user=user, conversation_id=pk).conversation


def memberships_of(*, user: User, limit: int = CONVERSATION_LIST_MAX) -> list[Membership]:
    """The user's conversations, the most recent message first (conversations without a message
    yet last, newest started first), each with ``unread`` and ``peer`` (a one-to-one's other person)."""
    rows = list(
        Membership.objects.filter(user=user)
        .select_related("conversation__user_low__unit", "conversation__user_high__unit")
        .order_by(F("conversation__last_message_at").desc(nulls_last=True), "-conversation_id")[:limit]
    )
    last_messages = {
        message.conversation_id: message
        for message in Message.objects.filter(
            conversation_id__in=[row.conversation_id for row in rows], seq=F("conversation__last_seq")
        ).select_related("sender")
    }
    for row in rows:
        row.unread = max(row.conversation.last_seq - row.read_seq, 0)
        row.peer = peer_of(row.conversation, user.pk)
        row.last_message = last_messages.get(row.conversation_id)
    return rows


def peer_of(conversation: Conversation, user_id: int) -> User | None:
    if conversation.kind != ConversationKind.DIRECT:
        return None
    return conversation.user_high if conversation.user_low_id == user_id else conversation.user_low


def member_ids(conversation: Conversation) -> list[int]:
    if conversation.kind == ConversationKind.DIRECT:
        return [conversation.user_low_id, conversation.user_high_id]
    return list(Membership.objects.filter(conversation=conversation).values_list("user_id", flat=True))


def unread_total(*, user: User) -> int:
    total = Membership.objects.filter(user=user, conversation__last_seq__gt=F("read_seq")).aggregate(
        n=Sum(F("conversation__last_seq") - F("read_seq"))
    )["n"]
    return int(total or 0)


def read_positions(conversation: Conversation) -> dict[int, int]:
    return dict(Membership.objects.filter(conversation=conversation).values_list("user_id", "read_seq"))


@dataclass(frozen=True)
class History:
    messages: list[Message]
    has_more: bool


def _visible(user: User, conversation: Conversation) -> QuerySet[Message]:
    hidden = MessageHidden.objects.filter(user=user, message=OuterRef("pk"))
    return Message.objects.filter(conversation=conversation).exclude(Exists(hidden)).select_related("sender")


def history(
    *,
    user: User,
    conversation: Conversation,
    before: int | None = None,
    after: int | None = None,
    on_date: date | None = None,
    query: str = "",
    limit: int = HISTORY_PAGE,
) -> History:
    """One page of the conversation, oldest first on the page (the caller checked membership):

    - ``after``: the messages after that sequence number (fetch forwards, catch up);
    - ``on_date``: from the first message of that day (Asia/Shanghai) forwards (jump to a date);
    - ``query``: the messages whose text holds every word (Chinese too), newest first;
    - otherwise the newest, or those before ``before`` (page backwards).

    ``has_more``: there are more in the direction read.
    """
    limit = max(1, min(limit, HISTORY_PAGE_MAX))
    messages = _visible(user, conversation)
    if query:
        found = filter_by_words(
            messages.filter(recalled_at__isnull=True),
            query,
            table=MessageSearch._meta.db_table,
            key="message_id",
            narrow=True,
        )
        rows = list(found.order_by("-seq")[: limit + 1])
        return History(rows[:limit], len(rows) > limit)
    if after is not None or on_date is not None:
        if on_date is not None:
            start = timezone.make_aware(datetime.combine(on_date, time.min))
            messages = messages.filter(created_at__gte=start)
        if after is not None:
            messages = messages.filter(seq__gt=after)
        rows = list(messages.order_by("seq")[: limit + 1])
        return History(rows[:limit], len(rows) > limit)
    if before is not None:
        messages = messages.filter(seq__lt=before)
    rows = list(messages.order_by("-seq")[: limit + 1])
    return History(list(reversed(rows[:limit])), len(rows) > limit)


def message_get(*, user: User, conversation_id, pk) -> Message:
    """A message of a conversation the user is in, not deleted for them; 404 otherwise."""
    conversation = conversation_get(user=user, pk=conversation_id)
    found = _visible(user, conversation).filter(pk=as_id(pk)).first()
    if found is None:
        raise Http404
    return found


def message_file_get(*, user: User, conversation_id, pk, thumbnail: bool = False) -> Message:
    """A message's image or file for a member: 404 when it has none, was recalled or deleted."""
    message = message_get(user=user, conversation_id=conversation_id, pk=pk)
    stored = message.thumbnail if thumbnail else message.file
    if message.recalled_at is not None or not stored:
        raise Http404
    return message


def blocks_of(*, user: User) -> QuerySet[Block]:
    return Block.objects.filter(blocker=user).select_related("blocked", "blocked__unit").order_by("-created_at")


def block_between(sender_id: int, recipient_id: int) -> str:
    """ "blocked" when the recipient blocked the sender, "you_blocked" when the sender blocked the
    recipient, "" when neither."""
    pairs = set(
        Block.objects.filter(
            blocker_id__in=(sender_id, recipient_id), blocked_id__in=(sender_id, recipient_id)
        ).values_list("blocker_id", "blocked_id")
    )
    if (recipient_id, sender_id) in pairs:
        return "blocked"
    if (sender_id, recipient_id) in pairs:
        return "you_blocked"
    return ""


def recipients(conversation: Conversation, *, actor_id: int | None = None) -> list[int]:
    """Who hears of what happens in the conversation: its members, less, in a one-to-one, anyone a
    block stands between (a blocked user's sockets hear nothing more of it)."""
    ids = member_ids(conversation)
    if (
        conversation.kind == ConversationKind.DIRECT
        and Block.objects.filter(blocker_id__in=ids, blocked_id__in=ids).exists()
    ):
        blocked = set(Block.objects.filter(blocker_id__in=ids, blocked_id__in=ids).values_list("blocked_id", flat=True))
        ids = [user_id for user_id in ids if user_id not in blocked or user_id == actor_id]
    return ids


def partners_of(user_id: int, *, limit: int = 500) -> list[int]:
    """The people the user has one-to-one conversations with (the most recent first), less those
    who blocked the user or whom the user blocked: who hears of their presence."""
    rows = Conversation.objects.filter(kind=ConversationKind.DIRECT).order_by(
        F("last_message_at").desc(nulls_last=True)
    )
    low = rows.filter(user_low_id=user_id).values_list("user_high_id", flat=True)[:limit]
    high = rows.filter(user_high_id=user_id).values_list("user_low_id", flat=True)[:limit]
    partners = set(low) | set(high)
    if partners:
        blocked = Block.objects.filter(blocker_id=user_id, blocked_id__in=partners).values_list("blocked_id", flat=True)
        blockers = Block.objects.filter(blocked_id=user_id, blocker_id__in=partners).values_list(
            "blocker_id", flat=True
        )
        partners -= set(blocked) | set(blockers)
    return sorted(partners)


def font_size_of(*, user: User) -> int:
    found = ChatPreference.objects.filter(user=user).values_list("font_size", flat=True).first()
    return found or FONT_SIZE_DEFAULT
