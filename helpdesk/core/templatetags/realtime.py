"""``{% last_event_id %}``: the signed-in user's newest event id when the page was rendered.

The page's socket resumes from it (static/js/realtime.js), so an event that happens between the
render and the socket's connection is delivered instead of lost."""

from django import template

from helpdesk.core import eventlog

register = template.Library()


@register.simple_tag(takes_context=True)
def last_event_id(context) -> int:
    user = getattr(context.get("request"), "user", None)
    if user is None or not user.is_authenticated:
        return 0
    return eventlog.last_id(user.pk)
