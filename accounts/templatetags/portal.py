"""Template helpers for the portal's frame (navigation that depends on the user's roles)."""

from django import template

from accounts import selectors

register = template.Library()


@register.simple_tag
def is_unit_admin(user) -> bool:
    """Whether the signed-in user sees the account management pages."""
    return bool(user.is_authenticated and selectors.is_unit_admin(actor=user))
