"""查找群组 → 申请加入 (join requests the administrators decide), 群公告 (announcements) and 群共享
(the group's shared files, with a per-group quota). Same lock and system-message rules as
chat.services.groups."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from accounts.models import User
from helpdesk.core.events import send_event

from .. import events_social as ev
from .. import selectors
from ..models import (
    Conversation,
    ConversationKind,
    GroupAnnouncement,
    GroupFile,
    GroupJoinRequest,
    JoinPolicy,
    JoinRequestStatus,
    Membership,
)
from .conversations import ChatRefused
from .groups import (
    ADMIN_ROLES,
    ANNOUNCEMENT_MAX,
    add_members_locked,
    clean_text,
    locked_group,
    require_admin,
    stored_text,
    system_message,
)
from .uploads import upload_policy

JOIN_MESSAGE_MAX = 200
DEFAULT_FILE_QUOTA = 1024 * 1024 * 1024  # 1 GB per group


def file_quota(conversation: Conversation) -> int:
    return conversation.group.file_quota or int(getattr(settings, "CHAT_GROUP_FILE_QUOTA", DEFAULT_FILE_QUOTA))


def files_used(conversation: Conversation) -> int:
    return int(GroupFile.objects.filter(conversation=conversation).aggregate(n=Sum("size"))["n"] or 0)


# --- Join requests ---------------------------------------------------------------------------------
def join_request(*, user: User, conversation_id: int, message: str = "") -> GroupJoinRequest | None:
    """申请加入 a group found by name or number. An open group takes the user at once (None is
    returned); a closed one refuses (403 ``closed``); otherwise the administrators are asked."""
    message = clean_text(message, "message", JOIN_MESSAGE_MAX)
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .filter(pk=selectors.as_id(conversation_id), kind=ConversationKind.GROUP, group__disbanded_at__isnull=True)
            .select_related("group")
            .first()
        )
        if conversation is None:
            raise Http404
        if Membership.objects.filter(conversation=conversation, user=user).exists():
            raise ValidationError({"group": [_("You are a member of this group already.")]})
        policy = conversation.group.join_policy
        if policy == JoinPolicy.CLOSED:
            raise ChatRefused(_("This group takes members by invitation only."), code="closed")
        if policy == JoinPolicy.OPEN:
            add_members_locked(
                conversation,
                user,
                [user],
                text=lambda names: stored_text(N_("%(names)s joined the group"), names=names),
            )
            return None
        try:
            with transaction.atomic():
                request = GroupJoinRequest.objects.create(conversation=conversation, user=user, message=message)
        except IntegrityError:
            raise ChatRefused(
                _("Your request to join is waiting for the administrators."), code="request_pending", status=429
            ) from None
        admins = list(
            Membership.objects.filter(conversation=conversation, role__in=ADMIN_ROLES).values_list("user_id", flat=True)
        )
        send_event(
            user_ids=admins,
            event_type=ev.GROUP_JOIN_REQUEST,
            payload={
                "conversation": conversation.pk,
                "request": request.pk,
                "user": {"id": user.pk, "name": user.name},
                "message": message,
            },
        )
    return request


def join_decide(*, user: User, conversation_id: int, request_id: int, approve: bool) -> GroupJoinRequest:
    """An administrator approves (the user joins, within the member limit) or declines."""
    with transaction.atomic():
        conversation, membership = locked_group(conversation_id, user=user)
        require_admin(membership)
        request = (
            GroupJoinRequest.objects.select_for_update()
            .select_related("user")
            .filter(pk=selectors.as_id(request_id), conversation=conversation)
            .first()
        )
        if request is None:
            raise Http404
        if request.status != JoinRequestStatus.PENDING:
            raise ValidationError({"request": [_("This request was answered already.")]})
        request.status = JoinRequestStatus.APPROVED if approve else JoinRequestStatus.DECLINED
        request.decided_by, request.decided_at = user, timezone.now()
        request.save(update_fields=["status", "decided_by", "decided_at"])
        if approve:
            add_members_locked(
                conversation,
                user,
                [request.user],
                text=lambda names: stored_text(
                    N_("%(actor)s approved %(names)s joining the group"), actor=user.name, names=names
                ),
            )
        send_event(
            user_ids=[request.user_id],
            event_type=ev.GROUP_JOIN_DECIDED,
            payload={"conversation": conversation.pk, "request": request.pk, "status": request.status},
        )
    return request


# --- Announcements ---------------------------------------------------------------------------------
def announcement_publish(*, user: User, conversation_id: int, text: str) -> GroupAnnouncement:
    """群公告: an administrator publishes; it is pinned as the newest and every member is told (a
    system message carrying its text, and ``chat.group_updated``)."""
    text = clean_text(text, "text", ANNOUNCEMENT_MAX, required=True, one_line=False)
    with transaction.atomic():
        conversation, membership = locked_group(conversation_id, user=user)
        require_admin(membership)
        announcement = GroupAnnouncement.objects.create(conversation=conversation, author=user, text=text)
        system_message(conversation, user, stored_text(N_("Group announcement: %(text)s"), text=text), "announcement")
    return announcement


def announcement_delete(*, user: User, conversation_id: int, announcement_id: int) -> None:
    with transaction.atomic():
        conversation, membership = locked_group(conversation_id, user=user)
        require_admin(membership)
        deleted, _details = GroupAnnouncement.objects.filter(
            conversation=conversation, pk=selectors.as_id(announcement_id)
        ).delete()
        if not deleted:
            raise Http404
        system_message(
            conversation, user, stored_text(N_("%(actor)s deleted an announcement"), actor=user.name), "announcement"
        )


# --- Shared files ----------------------------------------------------------------------------------
def file_upload(*, user: User, conversation_id: int, upload: UploadedFile) -> GroupFile:
    """群共享: a member adds a file (the chat's upload policy: type by content, size), within the
    group's quota. The file is written before the lock and removed if no row keeps it."""
    name, content_type, _kind = upload_policy().inspect(upload)
    size = upload.size or 0
    selectors.conversation_get(user=user, pk=conversation_id)  # 404 before writing anything
    shared = GroupFile(uploader=user, name=name, content_type=content_type, size=size)
    shared.file.save(name, upload, save=False)
    try:
        with transaction.atomic():
            conversation, _membership = locked_group(conversation_id, user=user)
            quota, used = file_quota(conversation), files_used(conversation)
            if used + size > quota:
                raise ValidationError(
                    {
                        "file": [
                            _("The group's shared space is full: %(free)s MB free of %(quota)s MB.")
                            % {
                                "free": f"{max(quota - used, 0) / (1024 * 1024):.1f}",
                                "quota": f"{quota / (1024 * 1024):g}",
                            }
                        ]
                    }
                )
            shared.conversation = conversation
            shared.save()
            system_message(
                conversation,
                user,
                stored_text(N_("%(actor)s shared the file %(name)s"), actor=user.name, name=name),
                "file_added",
            )
    except BaseException:
        shared.file.delete(save=False)
        raise
    return shared


def file_delete(*, user: User, conversation_id: int, file_id: int) -> None:
    """The uploader or an administrator deletes a shared file (for everyone)."""
    with transaction.atomic():
        conversation, membership = locked_group(conversation_id, user=user)
        shared = GroupFile.objects.filter(conversation=conversation, pk=selectors.as_id(file_id)).first()
        if shared is None:
            raise Http404
        if shared.uploader_id != user.pk and membership.role not in ADMIN_ROLES:
            raise ChatRefused(_("Only the uploader or an administrator can delete this file."), code="not_admin")
        storage, stored_name = shared.file.storage, shared.file.name
        shared.delete()
        system_message(
            conversation,
            user,
            stored_text(N_("%(actor)s deleted the shared file %(name)s"), actor=user.name, name=shared.name),
            "file_deleted",
        )
        transaction.on_commit(lambda: storage.delete(stored_name))
