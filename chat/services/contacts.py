"""好友 (manual 2.3.1): friend requests with a verification message, friends in the user's own named
and ordered groups (分组), remark names, removal.

A request is refused clearly when it would be spam: a pending one to the same person (429), one
declined less than a day ago (429), more than ``CHAT_FRIEND_REQUESTS_PER_HOUR`` in an hour (429), or
the other side has blocked the sender (403). Both sides hear of every step live (events stored in
their logs, so they also find them on return) and the lists give the same state.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.models import User
from helpdesk.core.events import send_event

from .. import events_social as ev
from ..models import Block, FriendGroup, FriendRequest, FriendRequestStatus, Friendship
from .conversations import ChatRefused, conversation_start

MESSAGE_MAX = 200
GROUP_NAME_MAX = 30
REMARK_MAX = 30
FRIEND_GROUPS_MAX = 50
DEFAULT_PER_HOUR = 20
DECLINED_COOLDOWN = timedelta(hours=24)


def _person(user: User) -> dict:
    return {"id": user.pk, "name": user.name}


def new_requests_count(user_id: int) -> int:
    return FriendRequest.objects.filter(
        to_user_id=user_id, status=FriendRequestStatus.PENDING, seen_at__isnull=True
    ).count()


def _clean(text: str, field: str, limit: int, *, required: bool = False) -> str:
    text = " ".join((text or "").split())
    if "\x00" in text:
        raise ValidationError({field: [_("The text holds a character that cannot be stored.")]})
    if required and not text:
        raise ValidationError({field: [_("This field is required.")]})
    if len(text) > limit:
        raise ValidationError({field: [_("At most %(max)d characters.") % {"max": limit}]})
    return text


def friend_request_send(*, user: User, to_user_id: int, message: str = "") -> FriendRequest:
    """添加好友: ask ``to_user`` (anyone active in the directory). If they had already asked the user,
    this accepts their request instead (both wanted it)."""
    message = _clean(message, "message", MESSAGE_MAX)
    try:
        other = account_selectors.directory_user_get(user_id=to_user_id)
    except Http404:
        raise ValidationError({"user": [_("No such person in the directory.")]}) from None
    if other.pk == user.pk:
        raise ValidationError({"user": [_("You cannot add yourself as a friend.")]})
    if Friendship.objects.filter(user=user, friend=other).exists():
        raise ValidationError({"user": [_("You are friends already.")]})
    if Block.objects.filter(blocker=other, blocked=user).exists():
        raise ChatRefused(_("This person does not accept your requests."), code="blocked")
    if Block.objects.filter(blocker=user, blocked=other).exists():
        raise ChatRefused(_("You have blocked this person; unblock them first."), code="you_blocked")
    theirs = FriendRequest.objects.filter(from_user=other, to_user=user, status=FriendRequestStatus.PENDING).first()
    if theirs is not None:
        return friend_request_decide(user=user, request_id=theirs.pk, accept=True)
    now = timezone.now()
    if FriendRequest.objects.filter(from_user=user, to_user=other, status=FriendRequestStatus.PENDING).exists():
        raise ChatRefused(
            _("Your request is waiting for their answer; you cannot send another."), code="request_pending", status=429
        )
    if FriendRequest.objects.filter(
        from_user=user, to_user=other, status=FriendRequestStatus.DECLINED, decided_at__gte=now - DECLINED_COOLDOWN
    ).exists():
        raise ChatRefused(
            _("This person declined your request; you can ask again after 24 hours."),
            code="request_declined",
            status=429,
        )
    per_hour = int(getattr(settings, "CHAT_FRIEND_REQUESTS_PER_HOUR", DEFAULT_PER_HOUR))
    if FriendRequest.objects.filter(from_user=user, created_at__gte=now - timedelta(hours=1)).count() >= per_hour:
        raise ChatRefused(
            _("You have sent too many friend requests: at most %(n)d an hour. Try again later.") % {"n": per_hour},
            code="rate_limited",
            status=429,
        )
    try:
        with transaction.atomic():
            request = FriendRequest.objects.create(from_user=user, to_user=other, message=message, created_at=now)
            payload = {
                "request": request.pk,
                "from_user": _person(user),
                "to_user": _person(other),
                "message": message,
                "new_requests": new_requests_count(other.pk),
            }
            send_event(user_ids=[other.pk, user.pk], event_type=ev.FRIEND_REQUEST, payload=payload)
    except IntegrityError:  # the same request twice at once: the pending constraint decided
        raise ChatRefused(
            _("Your request is waiting for their answer; you cannot send another."), code="request_pending", status=429
        ) from None
    return request


def friend_request_decide(*, user: User, request_id: int, accept: bool) -> FriendRequest:
    """The recipient accepts (friends both ways, in no group yet, with their one-to-one started) or
    declines. Only the recipient decides; anyone else gets a 404."""
    with transaction.atomic():
        request = (
            FriendRequest.objects.select_for_update()
            .select_related("from_user", "to_user")
            .filter(pk=request_id, to_user=user)
            .first()
        )
        if request is None:
            raise Http404
        if request.status != FriendRequestStatus.PENDING:
            raise ValidationError({"request": [_("This request was answered already.")]})
        now = timezone.now()
        request.status = FriendRequestStatus.ACCEPTED if accept else FriendRequestStatus.DECLINED
        request.decided_at = now
        request.seen_at = request.seen_at or now
        request.save(update_fields=["status", "decided_at", "seen_at"])
        conversation_id = None
        if accept:
            for a, b in ((request.from_user, request.to_user), (request.to_user, request.from_user)):
                Friendship.objects.get_or_create(user=a, friend=b, defaults={"created_at": now})
            # Their other direction, if pending, is answered by this too.
            FriendRequest.objects.filter(
                from_user=request.to_user, to_user=request.from_user, status=FriendRequestStatus.PENDING
            ).update(status=FriendRequestStatus.ACCEPTED, decided_at=now)
            conversation, _created = conversation_start(user=request.to_user, other_id=request.from_user_id)
            conversation_id = conversation.pk
        send_event(
            user_ids=[request.from_user_id, request.to_user_id],
            event_type=ev.FRIEND_REQUEST_DECIDED,
            payload={
                "request": request.pk,
                "status": request.status,
                "from_user": _person(request.from_user),
                "to_user": _person(request.to_user),
                "conversation": conversation_id,
            },
        )
    request.conversation_id = conversation_id
    return request


def friend_requests_seen(*, user: User) -> int:
    """The user has seen their pending requests: the badge goes to 0. Returns how many were new."""
    return FriendRequest.objects.filter(to_user=user, status=FriendRequestStatus.PENDING, seen_at__isnull=True).update(
        seen_at=timezone.now()
    )


def friend_remove(*, user: User, friend_id: int) -> None:
    """删除好友: both sides stop being friends (their conversation and its history stay)."""
    with transaction.atomic():
        deleted, _details = Friendship.objects.filter(user=user, friend_id=friend_id).delete()
        if not deleted:
            raise Http404
        Friendship.objects.filter(user_id=friend_id, friend=user).delete()
        send_event(
            user_ids=[user.pk, friend_id], event_type=ev.FRIEND_REMOVED, payload={"user": user.pk, "friend": friend_id}
        )


def _own_group(user: User, group_id: int | None) -> FriendGroup | None:
    if group_id is None:
        return None
    group = FriendGroup.objects.filter(user=user, pk=group_id).first()
    if group is None:
        raise ValidationError({"group": [_("No such friend group of yours.")]})
    return group


def friend_update(
    *, user: User, friend_id: int, remark: str | None = None, group_id: int | None = None, move: bool = False
) -> Friendship:
    """Give a friend a remark name (备注) and/or move them to one of the user's groups (``move`` with
    ``group_id`` None: back to the default group 我的好友)."""
    friendship = Friendship.objects.filter(user=user, friend_id=friend_id).select_related("friend__unit").first()
    if friendship is None:
        raise Http404
    fields = []
    if remark is not None:
        friendship.remark = _clean(remark, "remark", REMARK_MAX)
        fields.append("remark")
    if move:
        friendship.group = _own_group(user, group_id)
        fields.append("group")
    if fields:
        friendship.save(update_fields=fields)
    return friendship


def friend_group_create(*, user: User, name: str) -> FriendGroup:
    name = _clean(name, "name", GROUP_NAME_MAX, required=True)
    if FriendGroup.objects.filter(user=user).count() >= FRIEND_GROUPS_MAX:
        raise ValidationError({"name": [_("At most %(n)d friend groups.") % {"n": FRIEND_GROUPS_MAX}]})
    if FriendGroup.objects.filter(user=user, name=name).exists():
        raise ValidationError({"name": [_("You have a friend group with this name already.")]})
    last = FriendGroup.objects.filter(user=user).aggregate(m=Max("position"))["m"]
    return FriendGroup.objects.create(user=user, name=name, position=(last or 0) + 1)


def friend_group_rename(*, user: User, group_id: int, name: str) -> FriendGroup:
    group = FriendGroup.objects.filter(user=user, pk=group_id).first()
    if group is None:
        raise Http404
    name = _clean(name, "name", GROUP_NAME_MAX, required=True)
    if FriendGroup.objects.filter(user=user, name=name).exclude(pk=group.pk).exists():
        raise ValidationError({"name": [_("You have a friend group with this name already.")]})
    group.name = name
    group.save(update_fields=["name"])
    return group


def friend_group_delete(*, user: User, group_id: int) -> None:
    """Its friends go back to the default group (我的好友); they stay friends."""
    deleted, _details = FriendGroup.objects.filter(user=user, pk=group_id).delete()
    if not deleted:
        raise Http404


def friend_groups_order(*, user: User, group_ids: list[int]) -> list[FriendGroup]:
    """Put the user's groups in this order: every group of theirs, each once."""
    groups = {group.pk: group for group in FriendGroup.objects.filter(user=user)}
    if sorted(group_ids) != sorted(groups) or len(set(group_ids)) != len(group_ids):
        raise ValidationError({"groups": [_("List each of your friend groups exactly once.")]})
    with transaction.atomic():
        for position, pk in enumerate(group_ids, start=1):
            groups[pk].position = position
        FriendGroup.objects.bulk_update(groups.values(), ["position"])
    return [groups[pk] for pk in group_ids]
