"""The notification centre's writes: notify, mark read, preferences, push devices and delivery.

``notify`` writes the entries in the caller's transaction (so a notification of something rolled
back cannot exist), pushes ``notification.created`` to each user after commit, and hands the new ids
to a Celery task that sends the e-mails and fills the push outbox per each user's preferences.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from helpdesk.core.events import send_event, send_events

from .. import notifications as kinds
from ..models import Notification, NotificationPreference, PushDevice, PushMessage, PushPlatform, User

logger = logging.getLogger(__name__)

PUSH_MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Draft:
    """One notification to write for every user in ``user_ids``."""

    user_ids: Iterable[int]
    kind: str
    title: str
    body: str = ""
    url: str = ""
    subject_type: str = ""
    subject_id: int | None = None


def notification_payload(notification: Notification) -> dict:
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "url": notification.url,
        "subject_type": notification.subject_type,
        "subject_id": notification.subject_id,
        "created_at": timezone.localtime(notification.created_at).isoformat(),
    }


def notify(drafts: Iterable[Draft]) -> list[Notification]:
    """Write the drafts' notifications (one per user and draft) in the current transaction."""
    now = timezone.now()
    rows = [
        Notification(
            user_id=user_id,
            kind=kinds.kind(draft.kind).name,
            title=draft.title[:200],
            body=draft.body[:500],
            url=draft.url[:300],
            subject_type=draft.subject_type,
            subject_id=draft.subject_id,
            created_at=now,
        )
        for draft in drafts
        for user_id in sorted({user_id for user_id in draft.user_ids if user_id})
    ]
    if not rows:
        return []
    created = Notification.objects.bulk_create(rows)
    send_events([([row.user_id], kinds.NOTIFICATION_CREATED, notification_payload(row)) for row in created])
    ids = [row.pk for row in created]

    def _deliver() -> None:
        from ..tasks import notifications_deliver

        try:
            notifications_deliver.delay(ids)
        except Exception:  # the bell has them; e-mail and push are best effort
            logger.exception("could not queue delivery of %d notifications", len(ids))

    transaction.on_commit(_deliver)
    return created


def notifications_mark_read(*, user: User, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read: those in ``ids`` (others' ids are ignored), or all."""
    now = timezone.now()
    with transaction.atomic():
        unread = Notification.objects.filter(user=user, read_at__isnull=True)
        marked = unread.filter(pk__in=ids) if ids is not None else unread
        count = marked.update(read_at=now)
        remaining = Notification.objects.filter(user=user, read_at__isnull=True).count()
        send_event(
            user_ids=[user.pk],
            event_type=kinds.NOTIFICATION_READ,
            payload={"ids": sorted(ids or []), "all": ids is None, "unread_count": remaining},
        )
    return count


def notification_preferences_set(*, user: User, choices: dict[str, dict[str, bool]]) -> None:
    """``{kind: {"email": bool, "push": bool}}`` for the kinds given; unknown kinds are refused."""
    known = {kind.name for kind in kinds.all_kinds()}
    unknown = sorted(set(choices) - known)
    if unknown:
        raise ValidationError({"kind": [_("Unknown notification kind: %(kinds)s") % {"kinds": ", ".join(unknown)}]})
    with transaction.atomic():
        for kind_name, channels in choices.items():
            default = kinds.kind(kind_name)
            NotificationPreference.objects.update_or_create(
                user=user,
                kind=kind_name,
                defaults={
                    "email": bool(channels.get("email", default.email)),
                    "push": bool(channels.get("push", default.push)),
                },
            )


def push_device_register(*, user: User, platform: str, token: str, name: str = "") -> PushDevice:
    """Register (or move to ``user``) a push token; a token registered again is the same device."""
    errors = {}
    if platform not in PushPlatform.values:
        errors["platform"] = [_("Choose one of: %(values)s") % {"values": ", ".join(PushPlatform.values)}]
    token = (token or "").strip()
    if not token or len(token) > 512:
        errors["token"] = [_("Give the push token the provider issued (at most 512 characters).")]
    if errors:
        raise ValidationError(errors)
    device, _created = PushDevice.objects.update_or_create(
        platform=platform,
        token=token,
        defaults={"user": user, "name": (name or "").strip()[:100], "last_seen_at": timezone.now()},
    )
    return device


def push_device_delete(*, device: PushDevice) -> None:
    device.delete()


class PushBackend:
    """What a push provider adapter implements (setting HELPDESK_PUSH_BACKEND)."""

    def send(self, message: PushMessage) -> None:  # raise to have the message retried
        raise NotImplementedError


class LoggingPushBackend(PushBackend):
    """Writes each push to the log: the embedded default and the reference for real adapters."""

    def send(self, message: PushMessage) -> None:
        logger.info(
            "push to %s device %s: %s — %s",
            message.device.platform,
            message.device_id,
            message.title,
            message.body,
        )


def push_backend() -> PushBackend:
    return import_string(getattr(settings, "HELPDESK_PUSH_BACKEND", "accounts.services.LoggingPushBackend"))()


def notifications_deliver(notification_ids: list[int]) -> dict[str, int]:
    """E-mail and push for these notifications, per their users' preferences. Idempotent: a
    notification's push rows are written once (its id is checked), e-mail only by the run that wrote
    them."""
    notifications = list(Notification.objects.filter(pk__in=notification_ids).select_related("user").order_by("pk"))
    if not notifications:
        return {"emails": 0, "pushes": 0}
    already = set(
        PushMessage.objects.filter(notification_id__in=notification_ids).values_list("notification_id", flat=True)
    )
    user_ids = {n.user_id for n in notifications}
    preferences = {(p.user_id, p.kind): p for p in NotificationPreference.objects.filter(user_id__in=user_ids)}
    devices: dict[int, list[PushDevice]] = {}
    for device in PushDevice.objects.filter(user_id__in=user_ids):
        devices.setdefault(device.user_id, []).append(device)
    emails = 0
    outbox: list[PushMessage] = []
    for notification in notifications:
        if notification.pk in already:
            continue
        default = kinds.kind(notification.kind)
        choice = preferences.get((notification.user_id, notification.kind))
        wants_email = choice.email if choice else default.email
        wants_push = choice.push if choice else default.push
        if wants_email and notification.user.email and notification.user.is_active:
            link = f"{settings.HELPDESK_SITE_URL.rstrip('/')}{notification.url}" if notification.url else ""
            send_mail(
                subject=f"[{_('Education Technology Service Platform')}] {notification.title}",
                message="\n\n".join(part for part in (notification.body, link) if part),
                from_email=None,
                recipient_list=[notification.user.email],
                fail_silently=False,
            )
            emails += 1
        if wants_push:
            outbox.extend(
                PushMessage(
                    device=device,
                    notification=notification,
                    title=notification.title,
                    body=notification.body,
                    data={"kind": notification.kind, "url": notification.url, "subject_id": notification.subject_id},
                )
                for device in devices.get(notification.user_id, [])
            )
    PushMessage.objects.bulk_create(outbox)
    pushes = push_outbox_send()
    return {"emails": emails, "pushes": pushes}


def push_outbox_send(*, limit: int = 500) -> int:
    """Hand unsent outbox rows to the push backend; failures are retried up to PUSH_MAX_ATTEMPTS."""
    backend = push_backend()
    sent = 0
    pending = (
        PushMessage.objects.filter(sent_at__isnull=True, attempts__lt=PUSH_MAX_ATTEMPTS)
        .select_related("device")
        .order_by("pk")[:limit]
    )
    for message in pending:
        try:
            backend.send(message)
        except Exception as error:  # the provider's failure: kept for the next run
            PushMessage.objects.filter(pk=message.pk).update(attempts=message.attempts + 1, last_error=str(error)[:300])
            continue
        PushMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now(), attempts=message.attempts + 1)
        sent += 1
    return sent
