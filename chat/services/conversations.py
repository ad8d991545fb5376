"""Starting conversations, blocking, preferences."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.models import User

from ..models import (
    FONT_SIZE_MAX,
    FONT_SIZE_MIN,
    Block,
    ChatPreference,
    Conversation,
    ConversationKind,
    Membership,
)


class ChatRefused(Exception):
    """A rule refused the action: the API answers ``status`` with ``code``, the socket an error frame."""

    def __init__(self, message: str, *, code: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = str(message)
        self.code = code
        self.status = status


DEFAULT_MESSAGES_PER_SECOND = 10


def messages_per_second() -> int:
    """How many messages a user may send in any second (``CHAT_MESSAGES_PER_SECOND``)."""
    return int(getattr(settings, "CHAT_MESSAGES_PER_SECOND", DEFAULT_MESSAGES_PER_SECOND))


def send_refusal(reason: str) -> ChatRefused:
    """Why a message was not taken, by reason (the send's checks, in Python or in its one statement):
    ``rate_limited``, ``blocked``, ``you_blocked``, ``disbanded``, ``muted``, ``all_muted``."""
    if reason == "rate_limited":
        return ChatRefused(
            _("You are sending messages too fast: at most %(rate)d per second. Wait a moment and send again.")
            % {"rate": messages_per_second()},
            code="rate_limited",
            status=429,
        )
    if reason == "blocked":
        return ChatRefused(_("The recipient has blocked your messages."), code="blocked")
    if reason == "you_blocked":
        return ChatRefused(_("You have blocked this person; unblock them to send messages."), code="you_blocked")
    if reason == "disbanded":
        return ChatRefused(_("This group has been disbanded."), code="disbanded")
    if reason == "muted":
        return ChatRefused(_("You have been muted in this group."), code="muted")
    if reason == "all_muted":
        return ChatRefused(_("The whole group is muted; only administrators can send."), code="muted")
    raise ValueError(f"unknown refusal {reason!r}")


def conversation_start(*, user: User, other_id: int) -> tuple[Conversation, bool]:
    """The one-to-one conversation of ``user`` and ``other`` (anyone in the directory: an active
    account), made if there is none yet: (conversation, created). Two starts at once, from either
    side, end with one conversation: the pair's unique constraint refuses the second insert, which
    then reads the first."""
    try:
        other = account_selectors.directory_user_get(user_id=other_id)
    except Http404:
        raise ValidationError({"user": [_("No such person in the directory.")]}) from None
    if other.pk == user.pk:
        raise ValidationError({"user": [_("You cannot start a conversation with yourself.")]})
    low, high = sorted((user.pk, other.pk))
    existing = Conversation.objects.filter(kind=ConversationKind.DIRECT, user_low_id=low, user_high_id=high).first()
    if existing is not None:
        return existing, False
    now = timezone.now()
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                kind=ConversationKind.DIRECT, user_low_id=low, user_high_id=high, created_by=user, created_at=now
            )
            Membership.objects.bulk_create(
                [Membership(conversation=conversation, user_id=uid, joined_at=now) for uid in (low, high)]
            )
    except IntegrityError:
        return Conversation.objects.get(kind=ConversationKind.DIRECT, user_low_id=low, user_high_id=high), False
    return conversation, True


def block_add(*, user: User, other_id: int) -> Block:
    """拒收: ``other`` can no longer send ``user`` messages (and is told so), and hears nothing more of
    their conversation. Blocking twice is one block."""
    try:
        other = User.objects.get(pk=other_id)
    except (User.DoesNotExist, ValueError, TypeError):
        raise ValidationError({"user": [_("No such person in the directory.")]}) from None
    if other.pk == user.pk:
        raise ValidationError({"user": [_("You cannot block yourself.")]})
    block, _created = Block.objects.get_or_create(blocker=user, blocked=other)
    return block


def block_remove(*, user: User, other_id: int) -> bool:
    deleted, _details = Block.objects.filter(blocker=user, blocked_id=other_id).delete()
    return bool(deleted)


def font_size_set(*, user: User, font_size: int) -> ChatPreference:
    if not FONT_SIZE_MIN <= font_size <= FONT_SIZE_MAX:
        raise ValidationError(
            {
                "font_size": [
                    _("The font size is between %(min)d and %(max)d pixels.")
                    % {"min": FONT_SIZE_MIN, "max": FONT_SIZE_MAX}
                ]
            }
        )
    preference, _created = ChatPreference.objects.update_or_create(user=user, defaults={"font_size": font_size})
    return preference
