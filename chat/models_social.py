"""好友 and 群组 (manual 2.3.1, 2.3.5): friend requests, friends in the user's own groups (分组), and a
group conversation's profile, join requests, announcements (群公告) and shared files (群共享).

Imported by ``chat.models`` so Django finds them; kept apart because chat/models.py holds the
conversation core every message goes through. A group *is* a ``Conversation`` (kind ``group``): its
members are ``Membership`` rows, its messages the same seq-numbered stream, so delivery, history,
unread counts and "members only" are the one-to-one's code. What only a group has hangs off it here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.core.files import ORIGINAL_NAME_MAX, private_storage

GROUP_MEMBER_LIMIT_DEFAULT = 500
GROUP_MEMBER_LIMIT_MAX = 2000
GROUP_NUMBER_BASE = 10_000_000  # 群号 = base + conversation id: 8 digits, stable, unique


# --- Contacts ------------------------------------------------------------------------------------
class FriendRequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


class FriendRequest(models.Model):
    """添加好友: ``from_user`` asks ``to_user`` with a verification message (验证信息)."""

    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("from"), on_delete=models.CASCADE, related_name="+"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("to"), on_delete=models.CASCADE, related_name="+"
    )
    message = models.CharField(_("verification message"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=FriendRequestStatus.choices, default=FriendRequestStatus.PENDING
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # The recipient has seen it in their list: the "new requests" badge counts the unseen pending ones.
    seen_at = models.DateTimeField(_("seen at"), null=True, blank=True)

    class Meta:
        verbose_name = _("friend request")
        verbose_name_plural = _("friend requests")
        constraints = [
            # One pending request per direction: a repeat is refused, not stacked.
            models.UniqueConstraint(
                fields=["from_user", "to_user"], condition=Q(status="pending"), name="chat_friend_request_pending"
            ),
        ]
        indexes = [models.Index(fields=["to_user", "status", "created_at"], name="chat_friend_req_to_idx")]

    def __str__(self) -> str:
        return f"{self.from_user_id} → {self.to_user_id} ({self.status})"


class FriendGroup(models.Model):
    """分组: a user's named, ordered group of friends."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="chat_friend_groups"
    )
    name = models.CharField(_("name"), max_length=30)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("friend group")
        verbose_name_plural = _("friend groups")
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="chat_friend_group_name_unique")]

    def __str__(self) -> str:
        return self.name


class Friendship(models.Model):
    """One side of a friendship: two rows per pair, each side with its own group and remark name."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="chat_friendships"
    )
    friend = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("friend"), on_delete=models.CASCADE, related_name="+"
    )
    group = models.ForeignKey(
        FriendGroup,
        verbose_name=_("friend group"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="friends",
    )
    remark = models.CharField(_("remark name"), max_length=30, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("friend")
        verbose_name_plural = _("friends")
        constraints = [models.UniqueConstraint(fields=["user", "friend"], name="chat_friendship_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} ↔ {self.friend_id}"


# --- Groups ----------------------------------------------------------------------------------------
class JoinPolicy(models.TextChoices):
    APPROVAL = "approval", _("Administrators approve")
    OPEN = "open", _("Anyone may join")
    CLOSED = "closed", _("By invitation only")


def _group_upload_to(instance, filename: str) -> str:
    return timezone.now().strftime("chat/groups/%Y/%m/") + filename


class GroupProfile(models.Model):
    conversation = models.OneToOneField(
        "chat.Conversation",
        verbose_name=_("conversation"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="group",
    )
    number = models.CharField(_("group number"), max_length=12, unique=True)
    description = models.TextField(_("description"), blank=True, max_length=500)
    avatar = models.FileField(
        _("avatar"), storage=private_storage, upload_to=_group_upload_to, blank=True, max_length=300
    )
    avatar_content_type = models.CharField(_("content type"), max_length=150, blank=True)
    join_policy = models.CharField(
        _("join policy"), max_length=10, choices=JoinPolicy.choices, default=JoinPolicy.APPROVAL
    )
    members_can_invite = models.BooleanField(_("members may invite"), default=True)
    all_muted = models.BooleanField(_("whole group muted"), default=False)
    member_limit = models.PositiveIntegerField(_("member limit"), default=GROUP_MEMBER_LIMIT_DEFAULT)
    file_quota = models.BigIntegerField(_("shared file quota (bytes)"), default=0)  # 0: the setting's default
    disbanded_at = models.DateTimeField(_("disbanded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        constraints = [
            models.CheckConstraint(
                condition=Q(member_limit__gte=2, member_limit__lte=GROUP_MEMBER_LIMIT_MAX),
                name="chat_group_member_limit_range",
            )
        ]

    def __str__(self) -> str:
        return self.number


class JoinRequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")


class GroupJoinRequest(models.Model):
    """查找群组 → 申请加入: an administrator approves or declines."""

    conversation = models.ForeignKey(
        "chat.Conversation", verbose_name=_("group"), on_delete=models.CASCADE, related_name="join_requests"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    message = models.CharField(_("message"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=JoinRequestStatus.choices, default=JoinRequestStatus.PENDING
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("group join request")
        verbose_name_plural = _("group join requests")
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "user"], condition=Q(status="pending"), name="chat_join_request_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → group {self.conversation_id} ({self.status})"


class GroupAnnouncement(models.Model):
    """群公告: the newest is pinned (shown on top); older ones stay listed."""

    conversation = models.ForeignKey(
        "chat.Conversation", verbose_name=_("group"), on_delete=models.CASCADE, related_name="announcements"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(_("text"), max_length=2000)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("group announcement")
        verbose_name_plural = _("group announcements")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.text[:50]


class GroupFile(models.Model):
    """群共享: a file in the group's shared space (private storage, members only)."""

    conversation = models.ForeignKey(
        "chat.Conversation", verbose_name=_("group"), on_delete=models.CASCADE, related_name="shared_files"
    )
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(_("file"), storage=private_storage, upload_to=_group_upload_to, max_length=300)
    name = models.CharField(_("file name"), max_length=ORIGINAL_NAME_MAX)
    content_type = models.CharField(_("content type"), max_length=150)
    size = models.BigIntegerField(_("size (bytes)"))
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("group shared file")
        verbose_name_plural = _("group shared files")
        indexes = [models.Index(fields=["conversation", "created_at"], name="chat_group_file_idx")]

    def __str__(self) -> str:
        return self.name
