"""群组 (manual 2.3.5): create a group, change its profile, manage its members (add, remove,
administrators, ownership, 禁言, member limit), leave and disband.

Every change takes the conversation's row lock, the same lock a message takes for its sequence
number, so a change and the messages around it are ordered: a member removed here is not among the
recipients of any message numbered after the removal (their sockets hear nothing more of the group,
and history, files and events answer 404 from then on). Each change is told to the members as a
system message in the group's own stream (``system_message``) and as ``chat.group_updated``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from accounts.models import User
from helpdesk.core.events import join_sockets, leave_sockets, send_event, send_events
from helpdesk.core.search import search_text_for

from .. import events, selectors
from .. import events_social as ev
from ..models import (
    GROUP_MEMBER_LIMIT_DEFAULT,
    GROUP_NUMBER_BASE,
    Conversation,
    ConversationKind,
    GroupAnnouncement,
    GroupProfile,
    JoinPolicy,
    MemberRole,
    Membership,
    Message,
    MessageKind,
    MessageSearch,
)
from .conversations import ChatRefused, send_refusal

NAME_MAX = 100
DESCRIPTION_MAX = 500
ANNOUNCEMENT_MAX = 2000
ADMIN_ROLES = (MemberRole.ADMIN, MemberRole.OWNER)


# --- Shared helpers --------------------------------------------------------------------------------
def clean_text(text: str | None, field: str, limit: int, *, required: bool = False, one_line: bool = True) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if one_line:
        text = " ".join(text.split())
    if "\x00" in text:
        raise ValidationError({field: [_("The text holds a character that cannot be stored.")]})
    if required and not text:
        raise ValidationError({field: [_("This field is required.")]})
    if len(text) > limit:
        raise ValidationError({field: [_("At most %(max)d characters.") % {"max": limit}]})
    return text


def locked_group(conversation_id, *, user: User) -> tuple[Conversation, Membership]:
    """The group under its row lock, with the user's membership: 404 for a non-member (or not a
    group), 400 once it is disbanded. Call inside ``transaction.atomic``."""
    conversation = (
        Conversation.objects.select_for_update(of=("self",))
        .filter(pk=selectors.as_id(conversation_id), kind=ConversationKind.GROUP)
        .select_related("group")
        .first()
    )
    membership = (
        Membership.objects.filter(conversation=conversation, user=user).first() if conversation is not None else None
    )
    if membership is None:
        raise Http404
    if conversation.group.disbanded_at is not None:
        raise ChatRefused(_("This group has been disbanded."), code="disbanded", status=400)
    return conversation, membership


def require_admin(membership: Membership) -> None:
    if membership.role not in ADMIN_ROLES:
        raise ChatRefused(_("Only the group's administrators can do this."), code="not_admin")


def require_owner(membership: Membership) -> None:
    if membership.role != MemberRole.OWNER:
        raise ChatRefused(_("Only the group's owner can do this."), code="not_owner")


def system_message(
    conversation: Conversation, actor: User, text: str, change: str, *, extra: Iterable[int] = ()
) -> Message:
    """Store a system message (kind "system", the actor as its sender) with the next sequence number
    and tell every current member (``chat.message`` and ``chat.group_updated``), plus ``extra`` users
    (a member just removed hears why, once). The caller holds the conversation's row lock."""
    now = timezone.now()
    message = Message.objects.create(
        conversation=conversation,
        seq=conversation.last_seq + 1,
        sender=actor,
        kind=MessageKind.SYSTEM,
        text=text,
        created_at=now,
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_seq=message.seq, last_message_at=now)
    conversation.last_seq, conversation.last_message_at = message.seq, now
    MessageSearch.objects.create(message=message, text=search_text_for(text))
    reads = selectors.read_positions(conversation)
    # The actor has seen their own change.
    Membership.objects.filter(conversation=conversation, user=actor).update(read_seq=message.seq, read_at=now)
    reads[actor.pk] = message.seq
    items = [
        (
            [uid],
            events.CHAT_MESSAGE,
            events.message_payload(message, unread=max(message.seq - seq, 0), sender_name=actor.name),
        )
        for uid, seq in sorted(reads.items())
    ]
    audience = sorted(reads)
    items.append((audience, ev.GROUP_UPDATED, {"conversation": conversation.pk, "change": change, "actor": actor.pk}))
    send_events(items)
    return message


def stored_text(message: str, **params) -> str:
    """A system message's sentence in the site's language (it is stored once, for everyone)."""
    with translation.override(settings.LANGUAGE_CODE):
        return _(message) % params


def _people(user_ids: Iterable[int]) -> list[User]:
    ids = sorted({selectors.as_id(pk) for pk in user_ids})
    people = list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk"))
    if len(people) != len(ids):
        raise ValidationError({"users": [_("Some of these people are not in the directory.")]})
    return people


def _names(people: list[User], limit: int = 10) -> str:
    names = "、".join(person.name or person.username for person in people[:limit])
    if len(people) > limit:
        names += stored_text(N_(" and %(n)d more"), n=len(people) - limit)
    return names


# --- Create, profile -------------------------------------------------------------------------------
def group_create(
    *,
    user: User,
    name: str,
    announcement: str = "",
    description: str = "",
    member_ids: Iterable[int] = (),
    avatar: UploadedFile | None = None,
    join_policy: str = JoinPolicy.APPROVAL,
    members_can_invite: bool = True,
) -> Conversation:
    """创建群组: the creator is the owner (and so an administrator); ``member_ids`` join at once."""
    name = clean_text(name, "name", NAME_MAX, required=True)
    announcement = clean_text(announcement, "announcement", ANNOUNCEMENT_MAX, one_line=False)
    description = clean_text(description, "description", DESCRIPTION_MAX, one_line=False)
    people = [p for p in _people(member_ids) if p.pk != user.pk]
    if len(people) + 1 > GROUP_MEMBER_LIMIT_DEFAULT:
        raise ValidationError({"users": [_("A group has at most %(n)d members.") % {"n": GROUP_MEMBER_LIMIT_DEFAULT}]})
    avatar_checked = _check_avatar(avatar) if avatar is not None else None
    now = timezone.now()
    with transaction.atomic():
        conversation = Conversation.objects.create(
            kind=ConversationKind.GROUP, name=name, created_by=user, created_at=now
        )
        profile = GroupProfile(
            conversation=conversation,
            number=str(GROUP_NUMBER_BASE + conversation.pk),
            description=description,
            join_policy=join_policy,
            members_can_invite=members_can_invite,
        )
        if avatar_checked is not None:
            profile.avatar.save(avatar_checked[0], avatar_checked[2], save=False)
            profile.avatar_content_type = avatar_checked[1]
        profile.save()
        Membership.objects.bulk_create(
            [Membership(conversation=conversation, user=user, role=MemberRole.OWNER, joined_at=now)]
            + [Membership(conversation=conversation, user=p, joined_at=now) for p in people]
        )
        join_sockets(user_ids=[user.pk, *(p.pk for p in people)], groups=[events.conversation_group(conversation.pk)])
        conversation = (
            Conversation.objects.select_for_update(of=("self",)).select_related("group").get(pk=conversation.pk)
        )
        text = stored_text(N_("%(actor)s created the group %(name)s"), actor=user.name, name=name)
        if people:
            text += stored_text(N_(" and invited %(names)s"), names=_names(people))
        system_message(conversation, user, text, "created")
        if announcement:
            GroupAnnouncement.objects.create(conversation=conversation, author=user, text=announcement, created_at=now)
            system_message(
                conversation, user, stored_text(N_("Group announcement: %(text)s"), text=announcement), "announcement"
            )
    return conversation


def _check_avatar(upload: UploadedFile) -> tuple[str, str, UploadedFile]:
    from helpdesk.core.files import UploadPolicy

    from .uploads import ALLOWED_EXTENSIONS

    images = {ext: kind for ext, kind in ALLOWED_EXTENSIONS.items() if kind.check == "image"}
    try:
        name, content_type, _kind = UploadPolicy(kinds=images, max_bytes=2 * 1024 * 1024).inspect(upload)
    except ValidationError as exc:
        raise ValidationError({"avatar": exc.message_dict.get("file", exc.messages)}) from None
    return name, content_type, upload


def group_update(
    *,
    user: User,
    conversation_id: int,
    name: str | None = None,
    description: str | None = None,
    join_policy: str | None = None,
    members_can_invite: bool | None = None,
    avatar: UploadedFile | None = None,
) -> Conversation:
    """Change the group's name, description, avatar, join policy or whether members may invite
    (administrators only)."""
    if name is not None:
        name = clean_text(name, "name", NAME_MAX, required=True)
    if description is not None:
        description = clean_text(description, "description", DESCRIPTION_MAX, one_line=False)
    avatar_checked = _check_avatar(avatar) if avatar is not None else None
    with transaction.atomic():
        conversation, membership = locked_group(conversation_id, user=user)
        require_admin(membership)
        profile = conversation.group
        said = []
        if name is not None and name != conversation.name:
            conversation.name = name
            Conversation.objects.filter(pk=conversation.pk).update(name=name)
            said.append(stored_text(N_("%(actor)s renamed the group to %(name)s"), actor=user.name, name=name))
        if description is not None:
            profile.description = description
        if join_policy is not None:
            profile.join_policy = join_policy
        if members_can_invite is not None:
            profile.members_can_invite = members_can_invite
        if avatar_checked is not None:
            old = profile.avatar.name
            profile.avatar.save(avatar_checked[0], avatar_checked[2], save=False)
            profile.avatar_content_type = avatar_checked[1]
            if old:
                storage = profile.avatar.storage
                transaction.on_commit(lambda: storage.delete(old))
        profile.save()
        text = "；".join(said) or stored_text(N_("%(actor)s changed the group's settings"), actor=user.name)
        system_message(conversation, user, text, "profile")
    return conversation


# --- Members ---------------------------------------------------------------------------------------
def add_members_locked(conversation: Conversation, actor: User, people: list[User], *, text) -> list[User]:
    """Add ``people`` (those not in yet) under the held lock, within the member limit."""
    present = set(
        Membership.objects.filter(conversation=conversation, user__in=people).values_list("user_id", flat=True)
    )
    new = [p for p in people if p.pk not in present]
    if not new:
        return []
    count = Membership.objects.filter(conversation=conversation).count()
    limit = conversation.group.member_limit
    if count + len(new) > limit:
        raise ValidationError(
            {
                "users": [
                    _("The group would have %(n)d members; its limit is %(limit)d.")
                    % {"n": count + len(new), "limit": limit}
                ]
            }
        )
    now = timezone.now()
    # A new member starts reading from here: what came before is not theirs to catch up on as unread.
    Membership.objects.bulk_create(
        [Membership(conversation=conversation, user=p, joined_at=now, read_seq=conversation.last_seq) for p in new]
    )
    # Their open sockets join the group's socket group (and read their log for what came meanwhile).
    join_sockets(user_ids=[p.pk for p in new], groups=[events.conversation_group(conversation.pk)])
    system_message(conversation, actor, text(_names(new)), "members_added")
    return new


def members_add(*, user: User, conversation_id: int, user_ids: Iterable[int]) -> list[User]:
    """添加群成员: several at once, from anywhere (本单位, 单位组织, directory search, friends: the client
    picks the people, this takes their ids). Administrators always; members when the group lets
    members invite."""
    people = _people(user_ids)
    if not people:
        raise ValidationError({"users": [_("Choose at least one person.")]})
    with transaction.atomic():
        conversation, membership = locked_group(conversation_id, user=user)
        if membership.role not in ADMIN_ROLES and not conversation.group.members_can_invite:
            raise ChatRefused(_("In this group only administrators add members."), code="not_admin")
        return add_members_locked(
            conversation,
            user,
            people,
            text=lambda names: stored_text(
                N_("%(actor)s invited %(names)s to the group"), actor=user.name, names=names
            ),
        )


def target_member(conversation: Conversation, user_id) -> Membership:
    target = (
        Membership.objects.filter(conversation=conversation, user_id=selectors.as_id(user_id))
        .select_related("user")
        .first()
    )
    if target is None:
        raise ValidationError({"user": [_("This person is not a member of the group.")]})
    return target


def drop_member(conversation: Conversation, target: Membership, reason: str) -> None:
    target.delete()
    # No longer a recipient, so pushes to the group already leave them out; their sockets leave it too.
    leave_sockets(user_ids=[target.user_id], groups=[events.conversation_group(conversation.pk)])
    send_event(
        user_ids=[target.user_id],
        event_type=ev.GROUP_REMOVED,
        payload={"conversation": conversation.pk, "reason": reason},
    )


def member_remove(*, user: User, conversation_id: int, user_id: int) -> None:
    """移出群组: an administrator removes a member (only the owner removes an administrator; nobody
    removes the owner). The removed member hears of it once and nothing more."""
    with transaction.atomic():
        conversation, membership = locked_group(conversation_id, user=user)
        require_admin(membership)
        target = target_member(conversation, user_id)
        if target.user_id == user.pk:
            raise ValidationError({"user": [_("To leave the group, use 退出群组.")]})
        if target.role == MemberRole.OWNER or (target.role == MemberRole.ADMIN and membership.role != MemberRole.OWNER):
            raise ChatRefused(_("Only the owner can remove an administrator, and nobody the owner."), code="not_owner")
        drop_member(conversation, target, "removed")
        system_message(
            conversation,
            user,
            stored_text(N_("%(actor)s removed %(name)s from the group"), actor=user.name, name=target.user.name),
            "member_removed",
        )


def refuse_if_muted(user: User, conversation: Conversation) -> None:
    """A group message's checks, under the conversation's lock (chat.services.messages): disbanded,
    the whole group muted (administrators still send), the member muted."""
    row = (
        Membership.objects.filter(conversation=conversation, user=user)
        .values("role", "muted", "conversation__group__all_muted", "conversation__group__disbanded_at")
        .first()
    )
    if row is None:
        raise Http404
    if row["conversation__group__disbanded_at"] is not None:
        raise send_refusal("disbanded")
    if row["role"] in ADMIN_ROLES:
        return
    if row["muted"]:
        raise send_refusal("muted")
    if row["conversation__group__all_muted"]:
        raise send_refusal("all_muted")
