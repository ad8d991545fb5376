from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Technical support")

    def ready(self) -> None:
        # Registers the app's realtime event types (tickets/events.py) before anything is sent or the
        # socket's AsyncAPI description is built, and its notification kinds (the preferences page).
        from . import config_cache, events, notifications  # noqa: F401

        config_cache.connect_signals()
        connect_unit_moves()
        connect_deletions()


def connect_unit_moves() -> None:
    from treebeard.mp_tree import path_updated

    from orgtree.models import OrgUnit

    path_updated.connect(_unit_moved, sender=OrgUnit, dispatch_uid="tickets.unit_moved")


def _unit_moved(sender, *, old_path: str, new_path: str, using: str, **kwargs) -> None:
    """treebeard rewrites a moved subtree's paths with one UPDATE per prefix and says so here."""
    from .services import tickets_follow_unit_move

    tickets_follow_unit_move(old_path=old_path, new_path=new_path, using=using)


def connect_deletions() -> None:
    from django.db.models.signals import post_delete

    from .models import FollowUp, Ticket

    post_delete.connect(_ticket_deleted, sender=Ticket, dispatch_uid="tickets.ticket_deleted")
    post_delete.connect(_follow_up_deleted, sender=FollowUp, dispatch_uid="tickets.follow_up_deleted")


def _ticket_deleted(sender, *, instance, **kwargs) -> None:
    """However a ticket is deleted (the back office's delete, a clean-up's queryset delete), delta sync
    reports it gone (``removed``), in the deleting transaction."""
    from .services.core import tickets_removed

    tickets_removed(ticket_ids=[instance.pk])


def _follow_up_deleted(sender, *, instance, **kwargs) -> None:
    """A follow-up goes with its ticket (CASCADE): the follow-up lists report it gone."""
    from .services.core import follow_ups_removed

    follow_ups_removed(follow_up_ids=[instance.pk])
