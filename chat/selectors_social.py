"""Reads of contacts (好友) and groups (群组). A group and everything in it (members, announcements,
join requests, shared files) is read by its members only: anyone else gets 404, as for an id that
does not exist. Finding a group (查找群组) shows only its public card."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from accounts import selectors as account_selectors
from accounts.models import User

from .models import (
    Conversation,
    ConversationKind,
    FriendGroup,
    FriendRequest,
    FriendRequestStatus,
    Friendship,
    GroupAnnouncement,
    GroupFile,
    GroupJoinRequest,
    GroupProfile,
    JoinRequestStatus,
    MemberRole,
    Membership,
)
from .selectors import as_id

SEARCH_LIMIT = 20
LIST_MAX = 500


# --- Contacts --------------------------------------------------------------------------------------
def people_search(*, viewer: User, query: str, limit: int = SEARCH_LIMIT) -> list[User]:
    """查找联系人: the directory search (account, name, nickname, pinyin, initials), each person once,
    marked ``is_friend``, ``remark`` and ``request_pending`` (you asked them, still unanswered)."""
    people: list[User] = []
    seen: set[int] = set()
    for term in account_selectors.directory_search(query=query)[: limit * 4]:
        if term.user_id in seen or term.user_id == viewer.pk:
            continue
        seen.add(term.user_id)
        people.append(term.user)
        if len(people) >= limit:
            break
    return mark_relations(viewer=viewer, people=people)


def mark_relations(*, viewer: User, people: list[User]) -> list[User]:
    ids = [p.pk for p in people]
    friends = dict(Friendship.objects.filter(user=viewer, friend_id__in=ids).values_list("friend_id", "remark"))
    pending = set(
        FriendRequest.objects.filter(
            from_user=viewer, to_user_id__in=ids, status=FriendRequestStatus.PENDING
        ).values_list("to_user_id", flat=True)
    )
    for person in people:
        person.is_friend = person.pk in friends
        person.remark = friends.get(person.pk, "")
        person.request_pending = person.pk in pending
    return people


def profile_card(*, viewer: User, user_id) -> User:
    """用户资料: a person of the directory, with what the viewer may see of their contact details
    (the directory's rule) and their relation to the viewer."""
    person = account_selectors.directory_user_get(user_id=as_id(user_id))
    account_selectors.directory_details(viewer=viewer, people=[person])
    mark_relations(viewer=viewer, people=[person])
    return person


def friend_requests_of(*, user: User, direction: str = "received") -> QuerySet[FriendRequest]:
    """Friend requests the user received (or sent), newest first."""
    rows = FriendRequest.objects.select_related("from_user__unit", "to_user__unit").order_by("-created_at", "-id")
    return rows.filter(to_user=user) if direction == "received" else rows.filter(from_user=user)


def new_requests_count(*, user: User) -> int:
    return FriendRequest.objects.filter(to_user=user, status=FriendRequestStatus.PENDING, seen_at__isnull=True).count()


def friend_groups_of(*, user: User) -> list[FriendGroup]:
    return list(
        FriendGroup.objects.filter(user=user).annotate(friend_count=Count("friends")).order_by("position", "id")
    )


def friends_of(*, user: User) -> list[Friendship]:
    return list(
        Friendship.objects.filter(user=user)
        .select_related("friend__unit", "group")
        .order_by("group__position", "friend__name", "friend_id")[:LIST_MAX]
    )


def friend_get(*, user: User, friend_id) -> Friendship:
    found = (
        Friendship.objects.filter(user=user, friend_id=as_id(friend_id)).select_related("friend__unit", "group").first()
    )
    if found is None:
        raise Http404
    return found


# --- Groups ----------------------------------------------------------------------------------------
def _groups() -> QuerySet[Conversation]:
    return Conversation.objects.filter(kind=ConversationKind.GROUP).select_related("group")


def group_membership(*, user: User, conversation_id) -> Membership:
    """The user's membership of a group, the group with it; 404 for non-members and non-groups."""
    found = (
        Membership.objects.filter(
            user=user, conversation_id=as_id(conversation_id), conversation__kind=ConversationKind.GROUP
        )
        .select_related("conversation__group")
        .first()
    )
    if found is None:
        raise Http404
    return found


def with_counts(conversations: list[Conversation]) -> list[Conversation]:
    counts = dict(
        Membership.objects.filter(conversation__in=conversations)
        .values("conversation_id")
        .annotate(n=Count("id"))
        .values_list("conversation_id", "n")
    )
    newest = GroupAnnouncement.objects.filter(conversation=OuterRef("pk")).order_by("-created_at", "-id")
    pinned_ids = (
        Conversation.objects.filter(pk__in=[c.pk for c in conversations])
        .annotate(pinned=Subquery(newest.values("pk")[:1]))
        .values_list("pinned", flat=True)
    )
    pinned = {a.conversation_id: a for a in GroupAnnouncement.objects.filter(pk__in=[p for p in pinned_ids if p])}
    for conversation in conversations:
        conversation.member_count = counts.get(conversation.pk, 0)
        conversation.pinned_announcement = pinned.get(conversation.pk)
    return conversations


def groups_of(*, user: User) -> list[Membership]:
    """The user's groups (群组 in the contact panel), by name."""
    rows = list(
        Membership.objects.filter(user=user, conversation__kind=ConversationKind.GROUP)
        .select_related("conversation__group")
        .order_by("conversation__name", "conversation_id")[:LIST_MAX]
    )
    with_counts([row.conversation for row in rows])
    return rows


def group_search(*, query: str, limit: int = SEARCH_LIMIT) -> list[Conversation]:
    """查找群组 by number (exact) or name (contains); disbanded groups are not found."""
    query = " ".join((query or "").split())
    if not query:
        return []
    rows = _groups().filter(group__disbanded_at__isnull=True)
    rows = rows.filter(Q(group__number=query) | Q(name__icontains=query)).order_by("name", "pk")[:limit]
    return with_counts(list(rows))


def group_members(*, user: User, conversation_id) -> list[Membership]:
    """The members, owner first, then administrators, then by when they joined (members only)."""
    membership = group_membership(user=user, conversation_id=conversation_id)
    order = {MemberRole.OWNER: 0, MemberRole.ADMIN: 1, MemberRole.MEMBER: 2}
    rows = list(
        Membership.objects.filter(conversation_id=membership.conversation_id)
        .select_related("user__unit")
        .order_by("joined_at", "id")
    )
    return sorted(rows, key=lambda row: order.get(row.role, 3))


def join_requests_of(*, user: User, conversation_id, pending_only: bool = True) -> QuerySet[GroupJoinRequest]:
    """The group's join requests (administrators only; a member who is not one gets none)."""
    membership = group_membership(user=user, conversation_id=conversation_id)
    rows = GroupJoinRequest.objects.filter(conversation_id=membership.conversation_id).select_related("user__unit")
    if membership.role == MemberRole.MEMBER:
        return rows.none()
    if pending_only:
        rows = rows.filter(status=JoinRequestStatus.PENDING)
    return rows.order_by("-created_at", "-id")


def announcements_of(*, user: User, conversation_id) -> QuerySet[GroupAnnouncement]:
    """群公告, newest (pinned) first."""
    membership = group_membership(user=user, conversation_id=conversation_id)
    return GroupAnnouncement.objects.filter(conversation_id=membership.conversation_id).select_related("author")


def files_of(*, user: User, conversation_id, query: str = "") -> QuerySet[GroupFile]:
    """群共享, newest first; ``query`` finds files whose name holds it."""
    membership = group_membership(user=user, conversation_id=conversation_id)
    rows = GroupFile.objects.filter(conversation_id=membership.conversation_id).select_related("uploader")
    query = query.strip()
    if query:
        rows = rows.filter(name__icontains=query)
    return rows.order_by("-created_at", "-id")


def file_get(*, user: User, conversation_id, file_id) -> GroupFile:
    found = files_of(user=user, conversation_id=conversation_id).filter(pk=as_id(file_id)).first()
    if found is None:
        raise Http404
    return found


def group_avatar_get(*, user: User, conversation_id) -> GroupProfile:
    profile = group_membership(user=user, conversation_id=conversation_id).conversation.group
    if not profile.avatar:
        raise Http404
    return profile
