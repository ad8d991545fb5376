from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = _("Notices")

    def ready(self) -> None:
        # Event types and notification kinds are registered at import.
        from helpdesk.core import subscriptions

        from . import events, notifications  # noqa: F401
        from .audience import SUBSCRIBER, socket_accepts, socket_membership

        # Live delivery to audiences: every socket joins its units' notice groups (helpdesk.core.consumers).
        subscriptions.register(SUBSCRIBER, groups=socket_membership, accepts=socket_accepts)
