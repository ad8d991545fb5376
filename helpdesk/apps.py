from django.apps import AppConfig


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = "Platform"

    def ready(self) -> None:
        from . import signals

        signals.connect()
