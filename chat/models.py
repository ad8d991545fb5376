"""聊天 (manual 2.3): conversations, their members and messages.

A one-to-one conversation and a group (issue 16) are the same ``Conversation`` with a ``kind``;
who is in it is ``Membership`` (with each member's read position), so delivery, history, unread
counts and the member check are written once for both. Today only one-to-one conversations are
created: ``user_low``/``user_high`` hold the pair, ordered, and a partial unique constraint makes
"one conversation per pair" hold under concurrent starts.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.core.files import ORIGINAL_NAME_MAX, private_storage


class ConversationKind(models.TextChoices):
    DIRECT = "direct", _("One-to-one")
    GROUP = "group", _("Group")


class Conversation(models.Model):
    kind = models.CharField(_("kind"), max_length=8, choices=ConversationKind.choices, default=ConversationKind.DIRECT)
    # A one-to-one conversation's two people, the lower id first (null for a group).
    user_low = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    user_high = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("name"), max_length=100, blank=True)  # groups (issue 16)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # The newest message's sequence number: messages are numbered 1, 2, 3 … under a row lock on
    # this row, so the numbers are contiguous and a client can tell a gap from "nothing new".
    last_seq = models.BigIntegerField(_("last sequence number"), default=0, editable=False)
    last_message_at = models.DateTimeField(_("last message at"), null=True, blank=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [
            models.UniqueConstraint(
                fields=["user_low", "user_high"], condition=Q(kind="direct"), name="chat_direct_pair_unique"
            ),
            models.CheckConstraint(
                condition=~Q(kind="direct")
                | Q(user_low__isnull=False, user_high__isnull=False, user_low__lt=F("user_high")),
                name="chat_direct_pair_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.get_kind_display()} #{self.pk}"


class MemberRole(models.TextChoices):
    MEMBER = "member", _("Member")
    ADMIN = "admin", _("Administrator")  # groups (issue 16)
    OWNER = "owner", _("Owner")


class Membership(models.Model):
    conversation = models.ForeignKey(
        Conversation, verbose_name=_("conversation"), on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="chat_memberships"
    )
    role = models.CharField(_("role"), max_length=8, choices=MemberRole.choices, default=MemberRole.MEMBER)
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)
    # The last sequence number this member has read (sending also reads what came before):
    # unread = conversation.last_seq - read_seq.
    read_seq = models.BigIntegerField(_("read up to"), default=0)
    read_at = models.DateTimeField(null=True, blank=True)
    muted = models.BooleanField(_("muted"), default=False)  # 禁言 in a group

    class Meta:
        verbose_name = _("conversation member")
        verbose_name_plural = _("conversation members")
        constraints = [models.UniqueConstraint(fields=["user", "conversation"], name="chat_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.conversation_id}"


class MessageKind(models.TextChoices):
    TEXT = "text", pgettext_lazy("message kind", "Text")
    IMAGE = "image", pgettext_lazy("message kind", "Image")
    FILE = "file", pgettext_lazy("message kind", "File")
    # A group's change (joined, removed, announcement …) told in the stream itself (issue 16).
    SYSTEM = "system", pgettext_lazy("message kind", "System")


def _upload_to(instance: Message, filename: str) -> str:
    return timezone.now().strftime("chat/%Y/%m/") + filename


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, verbose_name=_("conversation"), on_delete=models.CASCADE, related_name="messages"
    )
    seq = models.BigIntegerField(_("sequence number"))
    # Indexed with the time instead (chat_message_sender_time_idx), which serves lookups by sender too.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sender"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=8, choices=MessageKind.choices, default=MessageKind.TEXT)
    text = models.TextField(_("text"), blank=True)
    # The sender's own id for the message: a resend with the same id returns the stored message.
    client_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    recalled_at = models.DateTimeField(_("recalled at"), null=True, blank=True)
    # An image or a file (private storage: served only to members, by the chat API).
    file = models.FileField(storage=private_storage, upload_to=_upload_to, blank=True, max_length=300)
    thumbnail = models.FileField(storage=private_storage, upload_to=_upload_to, blank=True, max_length=300)
    file_name = models.CharField(max_length=ORIGINAL_NAME_MAX, blank=True)
    content_type = models.CharField(max_length=150, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="chat_message_seq_unique"),
            models.UniqueConstraint(
                fields=["sender", "client_id"], condition=~Q(client_id=""), name="chat_message_client_id_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="chat_message_time_idx"),
            # The messages-per-second limit counts a sender's messages of the last second.
            models.Index(fields=["sender", "created_at"], name="chat_message_sender_time_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} in {self.conversation_id}"


class MessageHidden(models.Model):
    """删除 (delete for me): the message is gone from this member's history, not from the others'."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "message"], name="chat_hidden_unique")]

    def __str__(self) -> str:
        return f"{self.message_id} hidden for {self.user_id}"


class MessageSearch(models.Model):
    """The searchable pieces of a message's text (helpdesk.core.search), one row per text message;
    removed when the message is recalled."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, primary_key=True, related_name="+")
    text = models.TextField()

    def __str__(self) -> str:
        return self.text[:50]


class Block(models.Model):
    """拒收: ``blocker`` takes no messages from ``blocked``, who is told so when sending."""

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("blocker"), on_delete=models.CASCADE, related_name="chat_blocks"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("blocked user"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("blocked user")
        verbose_name_plural = _("blocked users")
        constraints = [models.UniqueConstraint(fields=["blocker", "blocked"], name="chat_block_unique")]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


FONT_SIZE_MIN, FONT_SIZE_MAX, FONT_SIZE_DEFAULT = 12, 24, 14


class ChatPreference(models.Model):
    """字体大小: the chat window's font size, per user (every device)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="chat_preference"
    )
    font_size = models.PositiveSmallIntegerField(_("font size"), default=FONT_SIZE_DEFAULT)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.font_size}px"


from .models_social import (  # noqa: E402, F401 - Django finds the app's models here
    GROUP_MEMBER_LIMIT_DEFAULT,
    GROUP_MEMBER_LIMIT_MAX,
    GROUP_NUMBER_BASE,
    FriendGroup,
    FriendRequest,
    FriendRequestStatus,
    Friendship,
    GroupAnnouncement,
    GroupFile,
    GroupJoinRequest,
    GroupProfile,
    JoinPolicy,
    JoinRequestStatus,
)
