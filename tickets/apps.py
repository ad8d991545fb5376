from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Technical support")

    def ready(self) -> None:
        # Registers the app's realtime event types (tickets/events.py) before anything is sent or the
        # socket's AsyncAPI description is built.
        from . import config_cache, events  # noqa: F401

        config_cache.connect_signals()
        connect_unit_moves()


def connect_unit_moves() -> None:
    from treebeard.mp_tree import path_updated

    from orgtree.models import OrgUnit

    path_updated.connect(_unit_moved, sender=OrgUnit, dispatch_uid="tickets.unit_moved")


def _unit_moved(sender, *, old_path: str, new_path: str, using: str, **kwargs) -> None:
    """treebeard rewrites a moved subtree's paths with one UPDATE per prefix and says so here."""
    from .services import tickets_follow_unit_move

    tickets_follow_unit_move(old_path=old_path, new_path=new_path, using=using)
