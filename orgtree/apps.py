from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgtreeConfig(AppConfig):
    name = "orgtree"
    verbose_name = _("Organisation tree")
