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
