from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone


@shared_task(name="accounts.tasks.clear_expired_sessions")
def clear_expired_sessions() -> int:
    now = timezone.now()
    deleted, _ = Session.objects.filter(expire_date__lt=now).delete()
    # Devices past their end (an app's refresh token, a browser's session) are off the lists already.
    from .services.devices import devices_clear_expired

    devices_clear_expired(now=now)
    return deleted


@shared_task(name="accounts.tasks.notifications_deliver")
def notifications_deliver(notification_ids: list[int]) -> dict[str, int]:
    """E-mail and push for new notifications (accounts.services.notifications)."""
    from .services.notifications import notifications_deliver as deliver

    return deliver(notification_ids)


@shared_task(name="accounts.tasks.push_outbox_send")
def push_outbox_send() -> int:
    """Retry pushes the provider refused earlier."""
    from .services.notifications import push_outbox_send as send

    return send()
