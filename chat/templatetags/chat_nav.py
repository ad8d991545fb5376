"""The navigation's 聊天 badge: the signed-in user's unread chat messages (static/js/chat_badge.js
keeps it current from the socket)."""

from django import template

from .. import selectors

register = template.Library()


@register.simple_tag
def chat_unread(user) -> int:
    if not user.is_authenticated:
        return 0
    return selectors.unread_total(user=user)
