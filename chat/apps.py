from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = _("Chat")

    def ready(self) -> None:
        # The chat's event types (chat/events.py) register at import; its socket frames and the
        # presence hooks with the core socket (helpdesk.core imports no app).
        from . import events, events_social, socket  # noqa: F401

        socket.register()
