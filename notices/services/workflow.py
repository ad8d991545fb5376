"""审核 and publishing: approve or return, publish at once or at the scheduled time, withdraw.

Publishing writes the notice's audience pieces (a few ``NoticeTarget`` rows, never one per person),
then, after commit, sends ``notice.published`` once per piece to that piece's socket group and asks
the statistics task to count. A scheduled notice is published by ``publish_due`` (Celery beat): each
notice is taken with a row lock and a state check in its own transaction, so it is published exactly
once however often the task runs, and a worker that dies mid-way leaves it scheduled for the next run.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.core.events import send_group_event

from .. import events, notifications, selectors, unread
from ..audience import SUBSCRIBER, TargetSpec, unit_group
from ..models import AudienceMode, Notice, NoticeState, NoticeTarget, TimelineAction, kind_bit, level_bit, mask_of
from .writing import record

logger = logging.getLogger(__name__)
REASON_MAX = 500


def target_specs_for(notice: Notice) -> list[TargetSpec]:
    """The audience pieces of a notice as written (mode, chosen units, levels, kinds)."""
    kind_mask = mask_of(kind_bit(kind) for kind in notice.audience_kinds)
    mode = notice.audience_mode
    if mode == AudienceMode.UNIT:
        return [TargetSpec(notice.unit_path, False, 0, kind_mask)]
    if mode == AudienceMode.SUBTREE:
        return [TargetSpec(notice.unit_path, True, 0, kind_mask)]
    if mode == AudienceMode.LEVELS:
        level_mask = mask_of(level_bit(level) for level in notice.audience_levels)
        return [TargetSpec(notice.unit_path, True, level_mask, kind_mask)]
    paths = sorted(notice.chosen_units.values_list("path", flat=True))
    if notice.chosen_with_subtrees:
        # A chosen unit below another chosen one adds nothing.
        tops: list[str] = []
        for path in paths:
            if not any(path.startswith(top) for top in tops):
                tops.append(path)
        paths = tops
    return [TargetSpec(path, notice.chosen_with_subtrees, 0, kind_mask) for path in paths]


def _publish_locked(notice: Notice, *, actor: User | None, now: datetime) -> None:
    """Publish ``notice`` (row-locked by the caller, state checked): targets, timeline, events."""
    notice.state = NoticeState.PUBLISHED
    notice.published_at = now
    notice.save(update_fields=["state", "published_at", "updated_at"])
    specs = target_specs_for(notice)
    NoticeTarget.objects.bulk_create(
        NoticeTarget(
            notice=notice,
            path=spec.path,
            subtree=spec.subtree,
            level_mask=spec.level_mask,
            kind_mask=spec.kind_mask,
            published_at=now,
            valid_until=notice.valid_until,
        )
        for spec in specs
    )
    record(notice, TimelineAction.PUBLISHED, actor=actor)
    unread.bump_paths(spec.path for spec in specs)
    for spec in specs:
        send_group_event(
            groups=[unit_group(spec.path)],
            subscriber=SUBSCRIBER,
            event_type=events.NOTICE_PUBLISHED,
            payload=events.published_payload(notice, spec),
            key=f"{events.NOTICE_PUBLISHED}:{notice.pk}",
        )
    _count_later(notice.pk)


# Reads within this many seconds of the first one are counted by the same run of the task, and a
# notice is recounted at most this often (a national count takes seconds; readers keep coming).
STATS_DELAY_SECONDS = 2
STATS_MIN_INTERVAL_SECONDS = 30


def _count_later(notice_id: int) -> None:
    """Mark the notice's statistics stale and, if they were fresh, queue their recount. The flag is
    cleared when the task starts, so a burst of reads (a national notice read by millions) queues one
    task per run rather than one per read; if the broker is down, beat's sweep of stale notices
    counts it instead."""

    def enqueue(countdown: float) -> None:
        from .. import tasks

        try:
            tasks.compute_notice_stats.apply_async((notice_id,), countdown=countdown)
        except Exception:
            logger.exception("could not queue the statistics of notice %s", notice_id)

    if Notice.objects.filter(pk=notice_id, stats_stale=False).update(stats_stale=True):
        last = Notice.objects.filter(pk=notice_id).values_list("stats_computed_at", flat=True).first()
        countdown = float(STATS_DELAY_SECONDS)
        if last is not None:
            since = (timezone.now() - last).total_seconds()
            countdown = max(countdown, STATS_MIN_INTERVAL_SECONDS - since)
        transaction.on_commit(lambda: enqueue(countdown))


@transaction.atomic
def notice_approve(*, user: User, notice: Notice, note: str = "") -> Notice:
    """The publishing unit's notice reviewer approves: published now, or scheduled for ``publish_at``."""
    notice = Notice.objects.select_for_update(of=("self",)).select_related("unit").get(pk=notice.pk)
    if not selectors.is_reviewer_of(user, notice):
        raise ValidationError(
            {"state": [_("Only the publishing unit's notice reviewer approves, and not their own notice.")]}
        )
    if notice.state != NoticeState.PENDING_REVIEW:
        raise ValidationError({"state": [_("Only a notice pending review can be approved.")]})
    now = timezone.now()
    record(notice, TimelineAction.APPROVED, actor=user, note=note)
    if notice.publish_at and notice.publish_at > now:
        notice.state = NoticeState.SCHEDULED
        notice.save(update_fields=["state", "updated_at"])
        when = timezone.localtime(notice.publish_at).strftime("%Y-%m-%d %H:%M")
        record(notice, TimelineAction.SCHEDULED, actor=user, note=when)
    else:
        _publish_locked(notice, actor=user, now=now)
    notifications.reviewed(notice, actor_id=user.pk, approved=True, reason=note)
    return notice


@transaction.atomic
def notice_reject(*, user: User, notice: Notice, reason: str) -> Notice:
    """Return it to the publisher with a reason; it revises and resubmits."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the notice is returned.")]})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [_("At most %(max)d characters.") % {"max": REASON_MAX}]})
    notice = Notice.objects.select_for_update().get(pk=notice.pk)
    if not selectors.is_reviewer_of(user, notice):
        raise ValidationError(
            {"state": [_("Only the publishing unit's notice reviewer returns a notice, and not their own.")]}
        )
    if notice.state != NoticeState.PENDING_REVIEW:
        raise ValidationError({"state": [_("Only a notice pending review can be returned.")]})
    notice.state = NoticeState.REJECTED
    notice.save(update_fields=["state", "updated_at"])
    record(notice, TimelineAction.REJECTED, actor=user, note=reason)
    notifications.reviewed(notice, actor_id=user.pk, approved=False, reason=reason)
    return notice


def publish_scheduled(notice_id: int, *, now: datetime | None = None) -> bool:
    """Publish one scheduled notice if it is still scheduled and due; False if another run has it or
    had it. The row lock (SKIP LOCKED) and the state check make two runs publish it once."""
    now = now or timezone.now()
    with transaction.atomic():
        notice = (
            Notice.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("unit")
            .filter(pk=notice_id, state=NoticeState.SCHEDULED, publish_at__lte=now)
            .first()
        )
        if notice is None:
            return False
        _publish_locked(notice, actor=None, now=now)
        return True


def publish_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Beat's sweep: publish every scheduled notice whose time has come; how many it published."""
    now = now or timezone.now()
    due = list(
        Notice.objects.filter(state=NoticeState.SCHEDULED, publish_at__lte=now)
        .order_by("publish_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    published = 0
    for notice_id in due:
        try:
            published += publish_scheduled(notice_id, now=now)
        except Exception:  # one bad notice must not hold back the others; it stays scheduled
            logger.exception("could not publish scheduled notice %s", notice_id)
    return published


@transaction.atomic
def notice_withdraw(*, user: User, notice: Notice, reason: str = "") -> Notice:
    """撤回: a published notice stays in the inboxes, marked withdrawn; a scheduled one never goes out."""
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [_("At most %(max)d characters.") % {"max": REASON_MAX}]})
    notice = Notice.objects.select_for_update(of=("self",)).select_related("unit").get(pk=notice.pk)
    if not (notice.author_id == user.pk or selectors.is_publisher_of(user, notice)):
        raise ValidationError({"state": [_("Only the author or a publisher of the unit withdraws a notice.")]})
    if notice.state not in (NoticeState.PUBLISHED, NoticeState.SCHEDULED):
        raise ValidationError({"state": [_("Only a published or scheduled notice can be withdrawn.")]})
    was_published = notice.state == NoticeState.PUBLISHED
    now = timezone.now()
    if was_published:
        notice.state = NoticeState.WITHDRAWN
        notice.withdrawn_at = now
    else:
        # Never delivered: back to the author as returned, to revise or leave.
        notice.state = NoticeState.REJECTED
    notice.withdraw_reason = reason
    notice.save(update_fields=["state", "withdrawn_at", "withdraw_reason", "updated_at"])
    record(notice, TimelineAction.WITHDRAWN, actor=user, note=reason)
    if was_published:
        notice.targets.update(withdrawn=True)
        unread.bump_paths(notice.targets.values_list("path", flat=True))
        for spec in selectors.target_specs(notice):
            send_group_event(
                groups=[unit_group(spec.path)],
                subscriber=SUBSCRIBER,
                event_type=events.NOTICE_WITHDRAWN,
                payload=events.withdrawn_payload(notice, spec),
                key=f"{events.NOTICE_WITHDRAWN}:{notice.pk}",
            )
    return notice
