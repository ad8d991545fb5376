from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from helpdesk.core.ws_auth import register_token_backend

        from . import signals
        from .authentication import DeviceTokenBackend

        # The socket (helpdesk.core, which imports no app) checks device tokens through this.
        register_token_backend(DeviceTokenBackend())
        user_logged_in.connect(signals.record_browser_sign_in, dispatch_uid="accounts.record_browser_sign_in")
        user_logged_out.connect(signals.forget_browser_sign_in, dispatch_uid="accounts.forget_browser_sign_in")
