"""The bell in the portal's top bar: the signed-in user's unread notifications."""

from django import template

from accounts import selectors

register = template.Library()


@register.simple_tag
def notification_unread(user) -> int:
    """One COUNT over the partial index of unread rows (notification_user_unread); 0 when signed out."""
    if not user.is_authenticated:
        return 0
    return selectors.notification_unread_count(user=user)
