"""Writes to roles: appointing and removing, an agent's handling groups and duty, and the record
of every such change (``RoleChange``), written in the transaction that makes the change.

The rules are the account rules (``accounts.services.accounts``): the role's unit must be one the
actor manages, the holder an account it manages (else 404, nothing written), and a unit's
administrators are appointed and removed from above only.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from helpdesk.core.tombstones import record_resync
from orgtree.models import OrgUnit

from ..models import HandlingGroup, Role, RoleAssignment, RoleChange, RoleChangeAction, User
from .accounts import _ensure_appointed_from_above, _ensure_can_manage, _lock_managed


def role_state(assignment: RoleAssignment) -> dict:
    """What a change record keeps of an assignment: duty and handling groups, for agents only
    (other roles have neither; their records say who appointed or removed whom)."""
    if assignment.role != Role.SUPPORT_AGENT:
        return {}
    codes = sorted(assignment.handling_groups.values_list("code", flat=True))
    return {"on_duty": assignment.on_duty, "handling_groups": codes}


def _record(
    *, actor: User | None, assignment: RoleAssignment, action: str, before: dict | None, after: dict | None
) -> RoleChange:
    if action in (RoleChangeAction.GRANTED, RoleChangeAction.REVOKED):
        # What the holder may see changed as a whole (a subtree more or less): its cached lists
        # cannot be brought up to date change by change, and a delta sync tells it to fetch afresh.
        record_resync(user_ids=[assignment.user_id])
    return RoleChange.objects.create(
        user_id=assignment.user_id,
        actor=actor if actor is not None and actor.pk else None,
        unit_id=assignment.unit_id,
        role=assignment.role,
        action=action,
        before=before,
        after=after,
    )


def _apply_agent_settings(
    assignment: RoleAssignment, *, handling_groups: Iterable[HandlingGroup] | None, on_duty: bool | None
) -> None:
    if on_duty is not None and assignment.on_duty != on_duty:
        assignment.on_duty = on_duty
        assignment.save(update_fields=["on_duty"])
    if handling_groups is not None:
        assignment.handling_groups.set(list(handling_groups))


def _locked_assignment(assignment: RoleAssignment) -> RoleAssignment:
    """Inside a transaction: the assignment's row, locked; gone (removed meanwhile) is a 404."""
    locked = RoleAssignment.objects.select_for_update().filter(pk=assignment.pk).first()
    if locked is None:
        raise Http404
    return locked


def role_grant(
    *,
    actor: User,
    user: User,
    unit: OrgUnit,
    role: str,
    handling_groups: list[HandlingGroup] | None = None,
    on_duty: bool = True,
) -> RoleAssignment:
    """Give ``user`` a role in ``unit``. Granting a role it already holds there changes the agent's
    duty and groups instead (recorded as a change when anything differs)."""
    if role not in Role.values:
        raise ValidationError({"role": [_("Choose a valid role.")]})
    _ensure_can_manage(actor, unit)
    _ensure_appointed_from_above(actor, unit, role)
    with transaction.atomic():
        _lock_managed(actor, user)
        # Duty means something for agents only; other roles keep the model's default.
        defaults = {"on_duty": on_duty} if role == Role.SUPPORT_AGENT else {}
        assignment, created = RoleAssignment.objects.get_or_create(user=user, unit=unit, role=role, defaults=defaults)
        before = None if created else role_state(assignment)
        if role == Role.SUPPORT_AGENT:
            _apply_agent_settings(assignment, handling_groups=handling_groups, on_duty=on_duty)
        after = role_state(assignment)
        if created:
            _record(actor=actor, assignment=assignment, action=RoleChangeAction.GRANTED, before=None, after=after)
        elif before != after:
            _record(actor=actor, assignment=assignment, action=RoleChangeAction.UPDATED, before=before, after=after)
    return assignment


def role_update(
    *,
    actor: User,
    assignment: RoleAssignment,
    handling_groups: list[HandlingGroup] | None = None,
    on_duty: bool | None = None,
) -> RoleAssignment:
    """An administrator changes an agent's handling groups or duty (``None`` leaves one as it is)."""
    if assignment.role != Role.SUPPORT_AGENT:
        raise ValidationError({"role": [_("Only support agents have handling groups and go on and off duty.")]})
    _ensure_can_manage(actor, assignment.unit)
    with transaction.atomic():
        _lock_managed(actor, assignment.user)
        assignment = _locked_assignment(assignment)
        before = role_state(assignment)
        _apply_agent_settings(assignment, handling_groups=handling_groups, on_duty=on_duty)
        after = role_state(assignment)
        if before != after:
            _record(actor=actor, assignment=assignment, action=RoleChangeAction.UPDATED, before=before, after=after)
    return assignment


def role_revoke(*, actor: User, assignment: RoleAssignment) -> None:
    _ensure_can_manage(actor, assignment.unit)
    _ensure_appointed_from_above(actor, assignment.unit, assignment.role)
    with transaction.atomic():
        _lock_managed(actor, assignment.user)
        assignment = _locked_assignment(assignment)
        before = role_state(assignment)
        _record(actor=actor, assignment=assignment, action=RoleChangeAction.REVOKED, before=before, after=None)
        assignment.delete()


def agent_set_duty(*, assignment: RoleAssignment, on_duty: bool, actor: User | None = None) -> RoleAssignment:
    """An agent goes on or off duty (routing skips agents who are off duty). The caller checks the
    assignment is the acting user's own; ``actor`` defaults to its holder."""
    if assignment.role != Role.SUPPORT_AGENT:
        raise ValidationError({"role": [_("Only support agents go on and off duty.")]})
    with transaction.atomic():
        locked = _locked_assignment(assignment)
        before = role_state(locked)
        _apply_agent_settings(locked, handling_groups=None, on_duty=on_duty)
        after = role_state(locked)
        if before != after:
            _record(
                actor=actor or locked.user,
                assignment=locked,
                action=RoleChangeAction.UPDATED,
                before=before,
                after=after,
            )
    # The caller's object reflects the new state (the API answers with it).
    assignment.on_duty = locked.on_duty
    return assignment


# --- Changes made in the back office ------------------------------------------------------------
def role_snapshot(assignment_id: int | None) -> tuple[RoleAssignment | None, dict | None]:
    """An assignment as it is stored now, with its state, to compare after the back office saved."""
    stored = RoleAssignment.objects.filter(pk=assignment_id).first() if assignment_id else None
    return stored, (role_state(stored) if stored is not None else None)


def role_record_back_office(
    *, actor: User, old: RoleAssignment | None, old_state: dict | None, new: RoleAssignment | None
) -> None:
    """Record a change a superuser made in Django admin, which writes the rows itself (inside the
    admin's own transaction). ``old`` is the stored assignment before the change (``role_snapshot``),
    ``new`` the saved one or None when it was deleted. Moving an assignment to another holder, unit
    or role is recorded as a removal and an appointment, as the portal would have done it."""
    if old is None and new is None:
        return
    if new is None:
        _record(actor=actor, assignment=old, action=RoleChangeAction.REVOKED, before=old_state, after=None)
        return
    after = role_state(new)
    if old is None:
        _record(actor=actor, assignment=new, action=RoleChangeAction.GRANTED, before=None, after=after)
    elif (old.user_id, old.unit_id, old.role) != (new.user_id, new.unit_id, new.role):
        _record(actor=actor, assignment=old, action=RoleChangeAction.REVOKED, before=old_state, after=None)
        _record(actor=actor, assignment=new, action=RoleChangeAction.GRANTED, before=None, after=after)
    elif after != old_state:
        _record(actor=actor, assignment=new, action=RoleChangeAction.UPDATED, before=old_state, after=after)
