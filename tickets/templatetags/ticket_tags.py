"""Template helpers for the ticket pages: masked contact info, state colours, SLA durations."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from tickets.fields import mask_contact as _mask_contact
from tickets.models import TicketState

register = template.Library()

# The tag colour of each state: work to do (brand), waiting on someone else (muted), done (success).
STATE_CLASSES = {
    TicketState.NEW: "tag-warning",
    TicketState.IN_PROGRESS: "",
    TicketState.WAITING_ASKER: "tag-muted",
    TicketState.PENDING_REVIEW: "tag-warning",
    TicketState.ANSWERED: "tag-success",
    TicketState.RESOLVED: "tag-success",
    TicketState.CLOSED: "tag-muted",
}
PRIORITY_CLASSES = {"P1": "tag-danger", "P2": "tag-warning", "P3": "", "P4": "tag-muted"}


@register.filter
def mask_contact(value: str) -> str:
    """138****0000 in lists (seed 004: contact info is masked)."""
    return _mask_contact(value)


@register.filter
def state_class(state: str) -> str:
    return STATE_CLASSES.get(state, "")


@register.filter
def priority_class(priority: str) -> str:
    return PRIORITY_CLASSES.get(priority, "")


@register.filter
def duration(seconds) -> str:
    """A span of time for the SLA view: "2 d 3 h", "3 h 05 min", "12 min" (sign ignored)."""
    try:
        minutes = abs(int(seconds)) // 60
    except (TypeError, ValueError):
        return ""
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


@register.filter
def minutes_duration(minutes) -> str:
    try:
        return duration(int(minutes) * 60)
    except (TypeError, ValueError):
        return ""


@register.filter
def count_of(counts: dict, view: str) -> int:
    """A tab's count from the workbench's ``counts`` (0 for a list not counted)."""
    return counts.get(view, 0) if isinstance(counts, dict) else 0
