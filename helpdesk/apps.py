from axes import apps as axes_apps
from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _

# The modules, not their classes: an AppConfig class imported here would be a candidate when Django
# picks this module's default config for "helpdesk" in INSTALLED_APPS.


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = _("Platform")

    def ready(self) -> None:
        from . import knowledge_sources, signals

        signals.connect()
        knowledge_sources.register()


class PlatformAdminConfig(admin_apps.AdminConfig):
    """Django admin on the platform's own site (helpdesk.admin): its name, no internal tables."""

    default = False
    default_site = "helpdesk.admin.PlatformAdminSite"


class AxesConfig(axes_apps.AppConfig):
    """django-axes (sign-in lockouts) under a Chinese name in the back office; axes has no zh_Hans
    catalogue, so its model and field names are translated in ours."""

    default = False
    verbose_name = _("Sign-in protection")
