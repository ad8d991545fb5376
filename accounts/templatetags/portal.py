"""Template helpers for the portal's frame (navigation that depends on the user's roles)."""

from django import template
from django.utils.translation import gettext as _

from accounts import selectors

register = template.Library()


@register.simple_tag
def is_unit_admin(user) -> bool:
    """Whether the signed-in user sees the account management pages."""
    return bool(user.is_authenticated and selectors.is_unit_admin(actor=user))


@register.simple_tag
def agent_duty(user) -> bool | None:
    """For the duty switch in the user menu: None for anyone who is no support agent."""
    if not user.is_authenticated:
        return None
    return selectors.agent_on_duty(user=user)


def _duty_label(on_duty: bool) -> str:
    return _("On duty") if on_duty else _("Off duty")


def _groups_label(codes, names: dict[str, str]) -> str:
    return "、".join(names.get(code, code) for code in codes) or _("none")


@register.simple_tag(takes_context=True)
def role_change_details(context, change) -> list[str]:
    """What a role change did to an agent's duty and handling groups, in words ("在岗 → 离岗")."""
    # Group names are read once per page, not once per row.
    names = context.get("_handling_group_names")
    if names is None:
        names = dict(selectors.handling_groups().values_list("code", "name"))
        context["_handling_group_names"] = names
    before, after = change.before or {}, change.after or {}
    details = []
    if not before and after:
        if "on_duty" in after:
            details.append(_duty_label(after["on_duty"]))
        if after.get("handling_groups"):
            details.append(_("Handling groups: %s") % _groups_label(after["handling_groups"], names))
    elif before and after:
        if before.get("on_duty") != after.get("on_duty"):
            details.append(f"{_duty_label(before.get('on_duty'))} → {_duty_label(after.get('on_duty'))}")
        if before.get("handling_groups") != after.get("handling_groups"):
            old = _groups_label(before.get("handling_groups") or [], names)
            new = _groups_label(after.get("handling_groups") or [], names)
            details.append(_("Handling groups: %s") % f"{old} → {new}")
    return details
