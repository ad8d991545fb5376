"""Every read of notices, scoped to the acting user (``accounts.scope.scope_of``).

Who sees a notice:

- **recipients**: a published (or withdrawn) notice whose audience covers one of their positions
  (notices.audience), matched at read time;
- **its author**, in any state;
- **the publishing unit and its superiors**: notice publishers, notice reviewers and administrators of
  the publishing unit or a unit above it see its notices once submitted (sent lists, statistics);
- **the reviewer**: the notice reviewer of the publishing unit approves or rejects what is pending.

Anything else is a 404 by id, attachments, timeline and statistics included. Statistics reads are in
``notices.selectors.stats``.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from accounts.scope import path_in_subtree, scope_of
from helpdesk.core.api.delta import DeltaSource
from helpdesk.core.search import filter_by_words

from .. import unread
from ..audience import Position, TargetSpec, covers_any, positions_of, targets_q
from ..models import (
    DELIVERED_STATES,
    EDITABLE_STATES,
    Notice,
    NoticeAttachment,
    NoticeEvent,
    NoticeRead,
    NoticeSearch,
    NoticeState,
    NoticeTarget,
)

# Roles that make one a "superior" of the notices of their unit's subtree.
MANAGER_ROLES = (Role.NOTICE_PUBLISHER, Role.NOTICE_REVIEWER, Role.UNIT_ADMIN)
TOMBSTONE_KIND = "notice"


# --- Recipients -------------------------------------------------------------------------------------
def _matching_targets(positions: tuple[Position, ...]) -> QuerySet[NoticeTarget]:
    return NoticeTarget.objects.filter(published_at__isnull=False).filter(targets_q(positions))


def _received_q(user: User) -> Q:
    positions = positions_of(user)
    if not positions:
        return Q(pk__in=[])
    return Q(state__in=DELIVERED_STATES, pk__in=_matching_targets(positions).values("notice_id"))


def inbox(*, user: User) -> QuerySet[Notice]:
    """Published and withdrawn notices whose audience covers the user, newest first."""
    if not user.is_authenticated:
        return Notice.objects.none()
    return Notice.objects.filter(_received_q(user)).order_by("-published_at", "-id")


def with_receipt(queryset: QuerySet[Notice], *, user: User) -> QuerySet[Notice]:
    """Annotate ``is_read`` and ``is_confirmed`` for the user (one index probe per row of a page)."""
    reads = NoticeRead.objects.filter(notice=OuterRef("pk"), user_id=user.pk)
    return queryset.annotate(
        is_read=Exists(reads), is_confirmed=Exists(reads.filter(confirmed_at__isnull=False))
    ).select_related("unit")


def unread_count(*, user: User, now: datetime | None = None) -> int:
    """Notices in the inbox, neither withdrawn nor expired, that the user has not read.

    Counting reads only the target index (a range per ancestor path of the user's units, index-only
    on PostgreSQL) and the user's own read rows (the unique (user, notice) index); the answer is
    cached until a notice to one of those paths is published or withdrawn, the user reads, or a
    counted notice expires (notices.unread)."""
    positions = positions_of(user)
    if not positions:
        return 0
    now = now or timezone.now()

    def compute() -> tuple[int, datetime | None]:
        found = (
            _matching_targets(positions)
            .filter(withdrawn=False)
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
            .exclude(notice_id__in=NoticeRead.objects.filter(user_id=user.pk).values("notice_id"))
            .aggregate(count=Count("notice_id", distinct=True), expires=Min("valid_until"))
        )
        return found["count"], found["expires"]

    return unread.cached_count(user_id=user.pk, joined=user.date_joined, positions=positions, now=now, compute=compute)


def inbox_delta_source(*, user: User) -> DeltaSource:
    """The inbox's delta: received notices changed since (published, withdrawn, reminded). An
    audience never changes after publication; a reader's moves and role changes are whole-scope
    resyncs (410) that accounts records."""
    return DeltaSource(
        candidates=Notice.objects.filter(_received_q(user)),
        kinds=(TOMBSTONE_KIND,),
        user_id=user.pk,
    )


def receives(user: User, notice: Notice) -> bool:
    """Whether a delivered notice's audience covers the user (in Python, from its targets)."""
    if notice.state not in DELIVERED_STATES:
        return False
    return covers_any(target_specs(notice), positions_of(user))


def target_specs(notice: Notice) -> list[TargetSpec]:
    return [
        TargetSpec(path, subtree, level_mask, kind_mask)
        for path, subtree, level_mask, kind_mask in notice.targets.values_list(
            "path", "subtree", "level_mask", "kind_mask"
        )
    ]


# --- Publishers, reviewers, superiors ---------------------------------------------------------------
def _manager_q(user: User) -> Q:
    scope = scope_of(user)
    if scope.is_superuser:
        return ~Q(state=NoticeState.DRAFT)
    return ~Q(state=NoticeState.DRAFT) & scope.subtree_q("unit_path", *MANAGER_ROLES)


def _visible_q(user: User) -> Q:
    return Q(author_id=user.pk) | _manager_q(user) | _received_q(user)


def visible_notices(*, user: User) -> QuerySet[Notice]:
    if not user.is_authenticated:
        return Notice.objects.none()
    return Notice.objects.filter(_visible_q(user))


def notice_get(*, user: User, pk) -> Notice:
    try:
        return visible_notices(user=user).select_related("unit", "author", "forwarded_from", "origin").get(pk=pk)
    except (Notice.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404(_("No such notice.")) from None


def sent_notices(*, user: User) -> QuerySet[Notice]:
    """Notices the user wrote, and those of the units where it publishes, reviews or administers (and
    the units below them) once submitted: 已发公告, newest first."""
    if not user.is_authenticated:
        return Notice.objects.none()
    return Notice.objects.filter(Q(author_id=user.pk) | _manager_q(user)).select_related("unit").order_by("-id")


def sent_delta_source(*, user: User) -> DeltaSource:
    """The sent list's delta: its notices changed since (submitted, reviewed, published …). A notice
    never leaves the list; a role granted or removed is a whole-scope resync (410)."""
    return DeltaSource(
        candidates=Notice.objects.filter(Q(author_id=user.pk) | _manager_q(user)).select_related("unit"),
        kinds=(TOMBSTONE_KIND,),
        user_id=user.pk,
    )


def review_queue(*, user: User) -> QuerySet[Notice]:
    """Pending notices of the units where the user is the notice reviewer, not its own, oldest first."""
    units = [held.unit_id for held in scope_of(user).held(Role.NOTICE_REVIEWER)]
    return (
        Notice.objects.filter(state=NoticeState.PENDING_REVIEW, unit_id__in=units)
        .exclude(author_id=user.pk)
        .select_related("unit", "author")
        .order_by("submitted_at", "id")
    )


def publisher_units(*, user: User):
    """Units the user publishes notices for (where it holds the notice publisher role)."""
    from orgtree.models import OrgUnit

    ids = [held.unit_id for held in scope_of(user).held(Role.NOTICE_PUBLISHER)]
    return list(OrgUnit.objects.filter(pk__in=ids).order_by("path"))


def is_publisher_of(user: User, notice: Notice) -> bool:
    scope = scope_of(user)
    return scope.is_superuser or any(held.unit_id == notice.unit_id for held in scope.held(Role.NOTICE_PUBLISHER))


def is_reviewer_of(user: User, notice: Notice) -> bool:
    """The publishing unit's notice reviewer, never the author (a second pair of eyes)."""
    if notice.author_id == user.pk:
        return False
    scope = scope_of(user)
    return scope.is_superuser or any(held.unit_id == notice.unit_id for held in scope.held(Role.NOTICE_REVIEWER))


def is_manager_of(user: User, notice: Notice) -> bool:
    """The author, and publishers, reviewers and administrators of the publishing unit or above it:
    they see the statistics and the timeline."""
    scope = scope_of(user)
    if scope.is_superuser or notice.author_id == user.pk:
        return True
    return scope.covers(notice.unit_path, *MANAGER_ROLES)


def can_edit(user: User, notice: Notice) -> bool:
    return notice.state in EDITABLE_STATES and (notice.author_id == user.pk or scope_of(user).is_superuser)


def can_forward_from(user: User, notice: Notice) -> list:
    """The units (where the user publishes) that may republish ``notice`` to their own subtree: it is
    delivered, the user receives it, and the unit lies inside its audience's reach, below the unit
    that published it."""
    if notice.state != NoticeState.PUBLISHED or not receives(user, notice):
        return []
    specs = target_specs(notice)
    units = []
    for unit in publisher_units(user=user):
        if unit.pk == notice.unit_id:
            continue
        if any(unit.path == t.path or (t.subtree and path_in_subtree(unit.path, t.path)) for t in specs):
            units.append(unit)
    return units


def capabilities(*, user: User, notice: Notice) -> set[str]:
    caps: set[str] = set()
    if can_edit(user, notice):
        caps.update({"edit", "attach", "submit"})
    if notice.state == NoticeState.PENDING_REVIEW and is_reviewer_of(user, notice):
        caps.update({"approve", "reject"})
    manager = is_manager_of(user, notice)
    if manager:
        caps.add("timeline")
        if notice.state in DELIVERED_STATES:
            caps.add("stats")
    if notice.state in (NoticeState.PUBLISHED, NoticeState.SCHEDULED) and (
        notice.author_id == user.pk or is_publisher_of(user, notice)
    ):
        caps.add("withdraw")
        if notice.state == NoticeState.PUBLISHED and notice.receipt_required:
            caps.add("remind")
    if receives(user, notice):
        caps.add("read")
        if notice.receipt_required and notice.state == NoticeState.PUBLISHED:
            caps.add("confirm")
        if can_forward_from(user, notice):
            caps.add("forward")
    return caps


def timeline(*, user: User, notice: Notice) -> QuerySet[NoticeEvent]:
    if not is_manager_of(user, notice) and not is_reviewer_of(user, notice):
        raise Http404(_("No such notice."))
    return notice.timeline.select_related("actor").order_by("id")


def receipt_of(*, user: User, notice: Notice) -> NoticeRead | None:
    return NoticeRead.objects.filter(notice=notice, user_id=user.pk).first()


# --- Attachments ------------------------------------------------------------------------------------
def attachments(*, notice: Notice) -> QuerySet[NoticeAttachment]:
    """A notice's files: its own, and a forward's original's (which it carries)."""
    ids = [notice.pk] + ([notice.origin_id] if notice.origin_id else [])
    return NoticeAttachment.objects.filter(notice_id__in=ids).order_by("notice_id", "id")


def attachment_get(*, user: User, notice_id, pk) -> NoticeAttachment:
    """A file by id through a notice the user may see; anything else is a 404."""
    notice = notice_get(user=user, pk=notice_id)
    try:
        return attachments(notice=notice).get(pk=pk)
    except (NoticeAttachment.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404(_("No such file.")) from None


# --- Query (公告查询) --------------------------------------------------------------------------------
def search_filter(
    queryset: QuerySet[Notice],
    *,
    q: str = "",
    unit=None,
    published_after: datetime | None = None,
    published_before: datetime | None = None,
    states: list[str] | None = None,
    importance: str = "",
    read: bool | None = None,
    user: User | None = None,
) -> QuerySet[Notice]:
    """The filters of 公告查询 on a received or sent list: words (Chinese, helpdesk.core.search),
    sender unit (its subtree), period, state, importance, read or unread (received lists)."""
    if unit is not None:
        from orgtree.selectors import path_range_filter

        queryset = queryset.filter(**path_range_filter(unit.path, "unit_"))
    if published_after is not None:
        queryset = queryset.filter(published_at__gte=published_after)
    if published_before is not None:
        queryset = queryset.filter(published_at__lt=published_before)
    if states:
        queryset = queryset.filter(state__in=states)
    if importance:
        queryset = queryset.filter(importance=importance)
    if read is not None and user is not None:
        mine = NoticeRead.objects.filter(user_id=user.pk).values("notice_id")
        queryset = queryset.filter(pk__in=mine) if read else queryset.exclude(pk__in=mine)
    if q:
        queryset = filter_by_words(queryset, q, table=NoticeSearch._meta.db_table, key="notice_id")
    return queryset
