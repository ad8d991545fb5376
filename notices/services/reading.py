"""接收公告: a recipient reads a notice (its receipt row is written then, not at publication) and
confirms receipt where asked; the publisher reminds (催阅) those who have not, at most once an hour."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.core.events import send_event, send_group_event

from .. import events, selectors, sql, unread
from ..audience import SUBSCRIBER, TargetSpec, unit_group
from ..models import Notice, NoticeRead, NoticeState, TimelineAction, mask_of
from .stats import compute_notice_stats
from .workflow import _count_later
from .writing import record

REMINDER_INTERVAL = timedelta(hours=1)
# A reminder goes to the units that hold someone who has not confirmed when there are at most this
# many of them (one socket-group send each); to the audience's few pieces otherwise.
REMINDER_MAX_UNITS = 5000
logger = logging.getLogger(__name__)


def _not_recipient() -> ValidationError:
    return ValidationError({"notice": [_("This notice is not addressed to you.")]})


@transaction.atomic
def notice_mark_read(*, user: User, notice: Notice, confirm: bool = False) -> NoticeRead:
    """Record that the user read the notice (once; reading again changes nothing) and, with
    ``confirm``, that it confirms receipt (回执). Only recipients have receipts."""
    if not selectors.receives(user, notice):
        raise _not_recipient()
    if confirm:
        if not notice.receipt_required:
            raise ValidationError({"notice": [_("This notice does not ask for a read receipt.")]})
        if notice.state != NoticeState.PUBLISHED:
            raise ValidationError({"notice": [_("A withdrawn notice needs no receipt.")]})
    now = timezone.now()
    # Two devices reading at once: one row, and neither fails.
    NoticeRead.objects.bulk_create(
        [NoticeRead(notice=notice, user=user, unit_id=user.unit_id, read_at=now)], ignore_conflicts=True
    )
    receipt = NoticeRead.objects.select_for_update().get(notice=notice, user=user)
    changed = receipt.read_at == now
    if confirm and receipt.confirmed_at is None:
        receipt.confirmed_at = now
        receipt.save(update_fields=["confirmed_at"])
        changed = True
    if changed:
        unread.bump_user(user.pk)
        _count_later(notice.pk)
        send_event(
            user_ids=[user.pk],
            event_type=events.NOTICE_READ,
            payload=events.read_payload(
                notice.pk, confirmed=receipt.confirmed_at is not None, unread_count=selectors.unread_count(user=user)
            ),
        )
    return receipt


@transaction.atomic
def notice_remind(*, user: User, notice: Notice, now=None) -> Notice:
    """催阅: tell the audience that has not read (or confirmed) a receipt-required notice to do so.
    At most once an hour per notice: the reminder time is moved only if the last one is an hour old,
    in one conditional UPDATE, so two publishers pressing at once send one reminder."""
    now = now or timezone.now()
    if not (notice.author_id == user.pk or selectors.is_publisher_of(user, notice)):
        raise ValidationError({"notice": [_("Only the author or a publisher of the unit sends reminders.")]})
    if notice.state != NoticeState.PUBLISHED:
        raise ValidationError({"notice": [_("Only a published notice can be reminded of.")]})
    if not notice.receipt_required:
        raise ValidationError({"notice": [_("Reminders are for notices that ask for a read receipt.")]})
    moved = Notice.objects.filter(
        Q(reminded_at__isnull=True) | Q(reminded_at__lte=now - REMINDER_INTERVAL), pk=notice.pk
    ).update(reminded_at=now, reminder_count=F("reminder_count") + 1, updated_at=now)
    notice.refresh_from_db()
    if not moved:
        next_at = timezone.localtime(notice.reminded_at + REMINDER_INTERVAL).strftime("%H:%M")
        raise ValidationError(
            {
                "notice": [
                    _("A reminder was sent less than an hour ago; the next one can be sent at %(time)s.")
                    % {"time": next_at}
                ]
            }
        )
    record(notice, TimelineAction.REMINDED, actor=user)
    number = notice.reminder_count
    transaction.on_commit(lambda: _queue_reminder(notice.pk, number))
    return notice


def _queue_reminder(notice_id: int, number: int) -> None:
    from .. import tasks

    try:
        tasks.deliver_notice_reminder.delay(notice_id, number)
    except Exception:  # no broker: the whole audience hears it now (clients skip what they confirmed)
        logger.exception("could not queue reminder %s of notice %s", number, notice_id)
        reminder_deliver(notice_id, number, recount=False)


def reminder_deliver(notice_id: int, number: int, *, recount: bool = True) -> int:
    """Send reminder ``number`` of a notice (the Celery task): recount its statistics, then send
    ``notice.reminded`` to the socket groups of the units where someone has not confirmed it, when they
    are at most REMINDER_MAX_UNITS; to the audience's pieces otherwise (each client shows it only where
    its copy is not confirmed). One send per group, never per person; nothing if a later reminder has
    superseded it. Returns how many groups it was sent to."""
    notice = (
        Notice.objects.select_related("unit")
        .filter(pk=notice_id, state=NoticeState.PUBLISHED, reminder_count=number)
        .first()
    )
    if notice is None:
        return 0
    audience = selectors.target_specs(notice)
    specs = audience
    if recount:
        compute_notice_stats(notice_id)
        paths = sql.units_not_confirmed(notice_id=notice_id, limit=REMINDER_MAX_UNITS + 1)
        if len(paths) <= REMINDER_MAX_UNITS:
            every_kind = any(target.kind_mask == 0 for target in audience)
            kinds = 0 if every_kind else mask_of(target.kind_mask for target in audience)
            specs = [TargetSpec(path, False, 0, kinds) for path in paths]
    for spec in specs:
        send_group_event(
            groups=[unit_group(spec.path)],
            subscriber=SUBSCRIBER,
            event_type=events.NOTICE_REMINDED,
            payload=events.reminded_payload(notice, spec),
            key=f"{events.NOTICE_REMINDED}:{notice.pk}:{number}",
        )
    return len(specs)
