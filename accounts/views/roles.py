"""Portal pages for roles: an administrator appoints and removes roles on an account's page and
changes an agent's handling groups and duty; an agent goes on and off duty itself.

The rules are accounts.services' (the same as the API's): an account the administrator does not
manage is a 404, a role outside its subtrees or a unit administrator appointed by a peer is a form
error, and nothing is changed. Every change is recorded by the services and listed on the page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import selectors, services
from ..forms import AgentSettingsForm, RoleGrantForm, apply_errors
from ..models import Role, RoleAssignment, User
from .accounts import _safe_next, _unit_suggestions, account_edit_form, unit_admin_required

# Units offered in the appointment form's list, and changes shown on the account's page.
ROLE_UNIT_CHOICES = 300
ROLE_CHANGES_SHOWN = 20


def _grant_form(actor: User, account: User, data=None, unit_query: str = "") -> RoleGrantForm:
    units = selectors.role_units_for(actor=actor, user=account, limit=ROLE_UNIT_CHOICES, query=unit_query)
    return RoleGrantForm(
        data,
        units=units,
        managed_units=selectors.managed_units(actor=actor),
        # After a search the first match is chosen, else the account's own unit.
        initial={"unit": units[0].pk if unit_query and units else account.unit_id, "on_duty": True},
    )


def _settings_form(assignment: RoleAssignment, data=None) -> AgentSettingsForm:
    return AgentSettingsForm(
        data,
        prefix=f"role-{assignment.pk}",
        initial={"handling_groups": list(assignment.handling_groups.all()), "on_duty": assignment.on_duty},
    )


def edit_page(request, account: User, form, *, grant_form=None, settings_forms=None, status: int = 200):
    """The account's page: its details form, status and password, its roles (each agent with a form
    for its groups and duty), the appointment form and the newest role changes."""
    actor = request.user
    managed_roles = selectors.managed_role_assignments(actor=actor).filter(user=account)
    managed_ids = set(managed_roles.values_list("pk", flat=True))
    settings_forms = settings_forms or {}
    roles = []
    for assignment in selectors.user_roles(user=account).order_by("unit__path", "role"):
        settings_form = None
        if assignment.role == Role.SUPPORT_AGENT and assignment.pk in managed_ids:
            settings_form = settings_forms.get(assignment.pk) or _settings_form(assignment)
        roles.append({"assignment": assignment, "manageable": assignment.pk in managed_ids, "form": settings_form})
    changes = selectors.managed_role_changes(actor=actor, user_id=account.pk)[:ROLE_CHANGES_SHOWN]
    # A name search narrows the appointment form's unit list (a province has too many for one list).
    unit_query = request.GET.get("unit_q", "").strip()[:100]
    return render(
        request,
        "accounts/manage/form.html",
        {
            "form": form,
            "account": account,
            "unit_suggestions": _unit_suggestions(actor),
            "creating": False,
            "roles": roles,
            "grant_form": grant_form or _grant_form(actor, account, unit_query=unit_query),
            "unit_query": unit_query,
            "role_changes": changes,
            "role_changes_max": ROLE_CHANGES_SHOWN,
        },
        status=status,
    )


def _back_to_roles(account: User):
    return redirect(reverse("accounts:manage_edit", args=[account.pk]) + "#roles")


@require_POST
@unit_admin_required
def manage_role_add(request, pk: int):
    actor = request.user
    account = selectors.managed_user_get(actor=actor, user_id=pk)
    grant_form = _grant_form(actor, account, request.POST)
    if grant_form.is_valid():
        data = grant_form.cleaned_data
        try:
            assignment = services.role_grant(
                actor=actor,
                user=account,
                unit=grant_form.unit_obj,
                role=data["role"],
                handling_groups=list(data["handling_groups"]) if data["role"] == Role.SUPPORT_AGENT else None,
                on_duty=data["on_duty"],
            )
        except ValidationError as exc:
            apply_errors(grant_form, exc)
        else:
            names = {"role": assignment.get_role_display(), "unit": grant_form.unit_obj.name}
            messages.success(request, _("Appointed %(role)s of %(unit)s.") % names)
            return _back_to_roles(account)
    return edit_page(request, account, account_edit_form(actor, account), grant_form=grant_form, status=400)


@require_POST
@unit_admin_required
def manage_role_update(request, pk: int, role_id: int):
    actor = request.user
    account = selectors.managed_user_get(actor=actor, user_id=pk)
    assignment = selectors.managed_role_get(actor=actor, user=account, assignment_id=role_id)
    if assignment.role != Role.SUPPORT_AGENT:
        # The page offers these settings for agents only, so there is no form to show an error on.
        messages.error(request, _("Only support agents have handling groups and go on and off duty."))
        return _back_to_roles(account)
    settings_form = _settings_form(assignment, request.POST)
    if settings_form.is_valid():
        try:
            services.role_update(
                actor=actor,
                assignment=assignment,
                handling_groups=list(settings_form.cleaned_data["handling_groups"]),
                on_duty=settings_form.cleaned_data["on_duty"],
            )
        except ValidationError as exc:
            apply_errors(settings_form, exc)
        else:
            messages.success(request, _("The support agent's settings have been saved."))
            return _back_to_roles(account)
    return edit_page(
        request, account, account_edit_form(actor, account), settings_forms={assignment.pk: settings_form}, status=400
    )


@require_POST
@unit_admin_required
def manage_role_remove(request, pk: int, role_id: int):
    actor = request.user
    account = selectors.managed_user_get(actor=actor, user_id=pk)
    assignment = selectors.managed_role_get(actor=actor, user=account, assignment_id=role_id)
    names = {"role": assignment.get_role_display(), "unit": assignment.unit.name}
    try:
        services.role_revoke(actor=actor, assignment=assignment)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Removed %(role)s of %(unit)s.") % names)
    return _back_to_roles(account)


# --- An agent's own duty ------------------------------------------------------------------------
@require_POST
@login_required
def duty(request):
    """Go on duty (``on_duty=1``) or off duty (anything else) in every support-agent role held."""
    assignments = list(selectors.own_agent_roles(user=request.user))
    if not assignments:
        raise PermissionDenied(_("Only support agents go on and off duty."))
    on_duty = request.POST.get("on_duty") == "1"
    for assignment in assignments:
        services.agent_set_duty(assignment=assignment, on_duty=on_duty, actor=request.user)
    messages.success(request, _("You are now on duty.") if on_duty else _("You are now off duty."))
    return redirect(_safe_next(request, reverse("accounts:profile")))
