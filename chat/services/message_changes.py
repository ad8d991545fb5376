"""Reading, recalling and deleting messages, and typing signals (sending is chat.services.messages).

Each change is announced to the members after the commit (``helpdesk.core.events``): ``chat.read``,
``chat.recalled`` and ``chat.hidden`` are stored in the recipients' event logs, ``chat.typing`` is a
moment and is not.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.core.events import send_event
from helpdesk.core.models import StoredEvent

from .. import events, selectors
from ..models import ConversationKind, Membership, Message, MessageHidden, MessageKind, MessageSearch
from .conversations import ChatRefused

RECALL_WINDOW = timedelta(minutes=2)


def read_up_to(*, user: User, conversation_id: int, seq: int | None = None) -> Membership:
    """已读: the user has read the conversation up to ``seq`` (the newest when None). The read
    position only moves forward; every member hears of it (the other side shows 已读)."""
    membership = selectors.membership_get(user=user, conversation_id=conversation_id)
    with transaction.atomic():
        membership = Membership.objects.select_for_update().select_related("conversation").get(pk=membership.pk)
        conversation = membership.conversation
        target = conversation.last_seq if seq is None else min(max(int(seq), 0), conversation.last_seq)
        if target <= membership.read_seq:
            membership.unread = max(conversation.last_seq - membership.read_seq, 0)
            return membership
        membership.read_seq, membership.read_at = target, timezone.now()
        membership.save(update_fields=["read_seq", "read_at"])
        membership.unread = max(conversation.last_seq - target, 0)
        send_event(
            user_ids=selectors.recipients(conversation, actor_id=user.pk),
            event_type=events.CHAT_READ,
            payload={"conversation": conversation.pk, "user": user.pk, "read_seq": target, "unread": membership.unread},
        )
    return membership


def message_recall(*, user: User, conversation_id: int, message_id: int) -> Message:
    """撤回: the sender takes a message back within 2 minutes of sending it. Its text, file and
    search entry are gone from every API and from the stored events; members see "撤回了一条消息"."""
    message = selectors.message_get(user=user, conversation_id=conversation_id, pk=message_id)
    if message.sender_id != user.pk:
        raise ChatRefused(_("You can only recall your own messages."), code="not_sender")
    if message.kind == MessageKind.SYSTEM:  # a group's record of a change is not taken back
        raise ChatRefused(_("You can only recall your own messages."), code="not_sender")
    if message.recalled_at is not None:
        return message
    now = timezone.now()
    if now - message.created_at > RECALL_WINDOW:
        raise ChatRefused(
            _("A message can only be recalled within 2 minutes of sending it."), code="recall_window_passed"
        )
    stored_files = [(field.storage, field.name) for field in (message.file, message.thumbnail) if field]
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(
            recalled_at=now, text="", file="", thumbnail="", file_name="", size=None, width=None, height=None
        )
        message.recalled_at, message.text, message.file, message.thumbnail = now, "", "", ""
        message.file_name, message.size, message.width, message.height = "", None, None, None
        MessageSearch.objects.filter(message=message).delete()
        recipients = selectors.recipients(message.conversation, actor_id=user.pk)
        # The stored chat.message events still hold the content a resuming client would be sent.
        recalled_data = events.message_data(message, sender_name=user.name)
        for stored in StoredEvent.objects.filter(
            user_id__in=selectors.member_ids(message.conversation),
            type=events.CHAT_MESSAGE,
            created_at__gte=message.created_at - timedelta(seconds=5),
            payload__message__id=message.pk,
        ):
            stored.payload = {**stored.payload, "message": recalled_data}
            stored.save(update_fields=["payload"])
        send_event(
            user_ids=recipients,
            event_type=events.CHAT_RECALLED,
            payload={"conversation": message.conversation_id, "message": recalled_data},
        )
        transaction.on_commit(lambda: [storage.delete(name) for storage, name in stored_files])
    return message


def message_hide(*, user: User, conversation_id: int, message_id: int) -> None:
    """删除 (for me): the message leaves this user's history on every device; others keep it."""
    message = selectors.message_get(user=user, conversation_id=conversation_id, pk=message_id)
    with transaction.atomic():
        _hidden, created = MessageHidden.objects.get_or_create(user=user, message=message)
        if created:
            send_event(
                user_ids=[user.pk],
                event_type=events.CHAT_HIDDEN,
                payload={"conversation": message.conversation_id, "message_id": message.pk},
            )


def typing(*, user: User, conversation_id: int) -> None:
    """正在输入: a moment, not stored; the other members (not blocked) hear of it."""
    conversation = selectors.conversation_get(user=user, pk=conversation_id)
    others = [uid for uid in selectors.recipients(conversation, actor_id=user.pk) if uid != user.pk]
    if not others:
        return
    # recipients() leaves out a blocked member; the blocker must not see the blocked one typing either.
    if conversation.kind == ConversationKind.DIRECT and selectors.block_between(user.pk, others[0]):
        return
    send_event(
        user_ids=others, event_type=events.CHAT_TYPING, payload={"conversation": conversation.pk, "user": user.pk}
    )
