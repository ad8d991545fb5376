from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The shared layer's own tables: the per-user event log the socket resumes from, and the
    idempotency records of API writes. It imports no app (users are referenced by the swappable
    setting)."""

    name = "helpdesk.core"
    label = "core"
    verbose_name = _("Platform core")
    default_auto_field = "django.db.models.BigAutoField"
