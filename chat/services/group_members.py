"""管理群成员 beyond adding and removing: administrators, ownership, 禁言, the member limit, leaving
and disbanding. Same lock and system-message rules as chat.services.groups."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from accounts.models import User

from ..models import GROUP_MEMBER_LIMIT_MAX, GroupProfile, MemberRole, Membership
from .groups import (
    ADMIN_ROLES,
    drop_member,
    locked_group,
    require_admin,
    require_owner,
    stored_text,
    system_message,
    target_member,
)


def admin_set(*, user: User, conversation_id: int, user_id: int, admin: bool) -> Membership:
    """设置 / 取消管理员 (the owner only)."""
    with transaction.atomic():
        conversation, membership = locked_group(conversation_id, user=user)
        require_owner(membership)
        target = target_member(conversation, user_id)
        if target.role == MemberRole.OWNER:
            raise ValidationError({"user": [_("The owner is an administrator already.")]})
        role = MemberRole.ADMIN if admin else MemberRole.MEMBER
        if target.role != role:
            target.role = role
            target.muted = False if admin else target.muted
            target.save(update_fields=["role", "muted"])
            text = (
                N_("%(actor)s made %(name)s an administrator")
                if admin
                else N_("%(actor)s dismissed %(name)s as administrator")
            )
            system_message(conversation, user, stored_text(text, actor=user.name, name=target.user.name), "admin")
        return target


def owner_transfer(*, user: User, conversation_id: int, user_id: int) -> Membership:
    """转让群主: the new owner is a member; the old owner stays an administrator."""
    with transaction.atomic():
        conversation, membership = locked_group(conversation_id, user=user)
        require_owner(membership)
        target = target_member(conversation, user_id)
        if target.pk == membership.pk:
            raise ValidationError({"user": [_("You are the owner already.")]})
        Membership.objects.filter(pk=membership.pk).update(role=MemberRole.ADMIN)
        target.role, target.muted = MemberRole.OWNER, False
        target.save(update_fields=["role", "muted"])
        system_message(
            conversation,
            user,
            stored_text(N_("%(actor)s made %(name)s the group's owner"), actor=user.name, name=target.user.name),
            "owner",
        )
        return target


def mute_set(*, user: User, conversation_id: int, muted: bool, user_id: int | None = None) -> None:
    """禁言: an administrator mutes one member (not an administrator) or, without ``user_id``, the
    whole group (then only administrators send). Sending while muted is refused (403 ``muted``)."""
    with transaction.atomic():
        conversation, membership = locked_group(conversation_id, user=user)
        require_admin(membership)
        if user_id is None:
            if conversation.group.all_muted == muted:
                return
            GroupProfile.objects.filter(pk=conversation.pk).update(all_muted=muted)
            text = N_("%(actor)s muted the whole group") if muted else N_("%(actor)s unmuted the whole group")
            system_message(conversation, user, stored_text(text, actor=user.name), "muted")
            return
        target = target_member(conversation, user_id)
        if target.role in ADMIN_ROLES:
            raise ValidationError({"user": [_("Administrators cannot be muted.")]})
        if target.muted == muted:
            return
        target.muted = muted
        target.save(update_fields=["muted"])
        text = N_("%(actor)s muted %(name)s") if muted else N_("%(actor)s unmuted %(name)s")
        system_message(conversation, user, stored_text(text, actor=user.name, name=target.user.name), "muted")


def member_limit_set(*, user: User, conversation_id: int, limit: int) -> GroupProfile:
    """群人数上限: the owner sets it, between the current member count (at least 2) and 2,000."""
    with transaction.atomic():
        conversation, membership = locked_group(conversation_id, user=user)
        require_owner(membership)
        count = Membership.objects.filter(conversation=conversation).count()
        low = max(count, 2)
        if not low <= limit <= GROUP_MEMBER_LIMIT_MAX:
            raise ValidationError(
                {
                    "member_limit": [
                        _("The limit is between %(low)d (the members now) and %(high)d.")
                        % {"low": low, "high": GROUP_MEMBER_LIMIT_MAX}
                    ]
                }
            )
        profile = conversation.group
        profile.member_limit = limit
        profile.save(update_fields=["member_limit"])
        system_message(
            conversation,
            user,
            stored_text(N_("%(actor)s set the member limit to %(n)d"), actor=user.name, n=limit),
            "profile",
        )
        return profile


def group_leave(*, user: User, conversation_id: int) -> None:
    """退出群组: any member but the owner, who transfers ownership first (or disbands)."""
    with transaction.atomic():
        conversation, membership = locked_group(conversation_id, user=user)
        if membership.role == MemberRole.OWNER:
            raise ValidationError(
                {"group": [_("You own this group: transfer the ownership first, or disband the group.")]}
            )
        drop_member(conversation, membership, "left")
        system_message(conversation, user, stored_text(N_("%(actor)s left the group"), actor=user.name), "member_left")


def group_disband(*, user: User, conversation_id: int) -> None:
    """解散群组 (the owner): the members see it as the group's last message; the conversation stays
    readable to them, and takes no more messages or changes."""
    with transaction.atomic():
        conversation, membership = locked_group(conversation_id, user=user)
        require_owner(membership)
        system_message(
            conversation, user, stored_text(N_("%(actor)s disbanded the group"), actor=user.name), "disbanded"
        )
        GroupProfile.objects.filter(pk=conversation.pk).update(disbanded_at=timezone.now())
