"""The notices badge of the navigation and the home page: the user's unread count (cached per user,
notices.unread), 0 when signed out."""

from __future__ import annotations

from django import template

from .. import selectors

register = template.Library()


@register.simple_tag
def notice_unread(user) -> int:
    if not user.is_authenticated:
        return 0
    return selectors.unread_count(user=user)
