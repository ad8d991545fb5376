"""What the acting user may reach: the one scope object every selector, service, permission and
portal decorator asks.

``scope_of(user)`` reads the user's role assignments (role, unit, the unit's path, depth and level,
the handling groups of an agent) in one query and keeps the answer on the user object for the rest
of the request or task. Everything else derives from those rows: which units the user administers,
where it is an agent or a reviewer, whether a unit lies in one of those subtrees, and the database
filter for "rows whose unit is in my subtrees" for any table that holds a unit path.

"Inside a subtree" is decided one way everywhere: a path is in the subtree of ``p`` when it starts
with ``p`` (materialized paths), and in SQL as the range ``p <= path <= p + 'ZZ…'`` that the plain
path index serves in path order (``orgtree.selectors.path_range_filter``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Q

from orgtree.models import OrgUnit
from orgtree.selectors import path_range_filter

from .models import Role, RoleAssignment, User, UserType

ALL_ROLES = tuple(Role.values)


@dataclass(frozen=True)
class HeldRole:
    """One role the user holds in one unit."""

    role: str
    unit_id: int
    unit_path: str
    unit_depth: int
    unit_level: int | None
    on_duty: bool
    handling_groups: frozenset[str] = field(default_factory=frozenset)


def _top_paths(paths: Iterable[str]) -> tuple[str, ...]:
    """The paths with every one inside another dropped, in tree order."""
    ordered = sorted(set(paths))
    tops: list[str] = []
    for path in ordered:
        if not any(path_in_subtree(path, top) for top in tops):
            tops.append(path)
    return tuple(tops)


def path_in_subtree(path: str, top: str) -> bool:
    return path.startswith(top)


def path_strictly_below(path: str, top: str) -> bool:
    return path != top and path.startswith(top)


class Scope:
    """The acting user's reach. Build it with ``scope_of``; it never changes during a request."""

    def __init__(self, *, user: User | None, roles: tuple[HeldRole, ...]) -> None:
        self.user = user
        self.user_id = user.pk if user is not None and user.is_authenticated else None
        self.is_superuser = bool(user is not None and user.is_authenticated and user.is_superuser)
        self.roles = roles

    # --- Roles ------------------------------------------------------------------------------------
    def held(self, *roles: str) -> tuple[HeldRole, ...]:
        wanted = roles or ALL_ROLES
        return tuple(held for held in self.roles if held.role in wanted)

    def holds(self, *roles: str) -> bool:
        return bool(self.held(*roles))

    @property
    def is_unit_admin(self) -> bool:
        return self.is_superuser or self.holds(Role.UNIT_ADMIN)

    def paths(self, *roles: str) -> tuple[str, ...]:
        """Top unit paths of the subtrees where the user holds one of ``roles`` (all roles if none)."""
        return _top_paths(held.unit_path for held in self.held(*roles))

    @property
    def admin_paths(self) -> tuple[str, ...]:
        return self.paths(Role.UNIT_ADMIN)

    # --- Units ------------------------------------------------------------------------------------
    def covers(self, path: str, *roles: str) -> bool:
        """Whether a unit (by its path) lies in a subtree where the user holds one of ``roles``."""
        return any(path_in_subtree(path, top) for top in self.paths(*roles))

    def manages_unit(self, unit: OrgUnit) -> bool:
        """Administrators manage their unit and everything below it; superusers everything."""
        return self.is_superuser or self.covers(unit.path, Role.UNIT_ADMIN)

    def administers_strictly_above(self, unit: OrgUnit) -> bool:
        """Whether ``unit`` lies strictly below a unit the user administers (who appoints its admins)."""
        return self.is_superuser or any(path_strictly_below(unit.path, top) for top in self.admin_paths)

    # --- Directory details --------------------------------------------------------------------------
    def sees_details_of(self, person: User, role_paths: Iterable[str] = ()) -> bool:
        """Whether the user may see ``person``'s phone, e-mail and roles in the directory.

        The one rule (README, "Directory details"), given the person's unit and the unit paths
        of the roles it holds (``role_paths``):

        - everyone sees their own details, platform operators (superusers) everyone's;
        - staff and teachers see the details of everyone in their own unit and the units below
          it, and of the people holding a role (administrator, support agent, reviewer,
          publisher) in a unit above theirs: the people who serve them;
        - a role holder also sees everyone's in the subtrees where it holds the role;
        - students and parents see only the staff and teachers of their own unit (their school):
          never another student's or parent's, never anyone's outside their school.
        """
        viewer = self.user
        if viewer is None or self.user_id is None:
            return False
        if person.pk == self.user_id or self.is_superuser:
            return True
        person_unit = person.unit
        if person_unit is None:
            return False
        if any(path_in_subtree(person_unit.path, top) for top in self.paths()):
            return True
        own_unit = viewer.unit
        if own_unit is None:
            return False
        if viewer.user_type in (UserType.STUDENT, UserType.PARENT):
            return person_unit.pk == own_unit.pk and person.user_type in (UserType.STAFF, UserType.TEACHER)
        if path_in_subtree(person_unit.path, own_unit.path):
            return True
        return any(path_strictly_below(own_unit.path, path) for path in role_paths)

    # --- Database filters -------------------------------------------------------------------------
    def subtree_q(self, path_field: str, *roles: str) -> Q:
        """Rows whose unit path (``path_field``: ``"path"``, ``"unit__path"``, ``"unit_path"``) lies
        in one of the subtrees where the user holds one of ``roles``; nothing if it holds none."""
        return subtrees_q(self.paths(*roles), path_field)


def subtrees_q(paths: Iterable[str], path_field: str) -> Q:
    """Rows whose ``path_field`` lies in any of the subtrees rooted at ``paths`` (a range each)."""
    prefix = path_field.removesuffix("path")
    q = Q(pk__in=[])
    for top in paths:
        q |= Q(**path_range_filter(top, prefix))
    return q


def strictly_below_q(paths: Iterable[str], path_field: str) -> Q:
    """Rows whose ``path_field`` lies strictly below one of ``paths`` (the units themselves excluded)."""
    prefix = path_field.removesuffix("path")
    q = Q(pk__in=[])
    for top in paths:
        q |= Q(**path_range_filter(top, prefix)) & ~Q(**{path_field: top})
    return q


def _read_roles(user: User) -> tuple[HeldRole, ...]:
    # One row per (assignment, handling group): a single query; groups are folded in here.
    rows = RoleAssignment.objects.filter(user=user).values_list(
        "pk", "role", "unit_id", "unit__path", "unit__depth", "unit__level", "on_duty", "handling_groups__code"
    )
    found: dict[int, list] = {}
    for pk, role, unit_id, path, depth, level, on_duty, group in rows.order_by("unit__path", "pk"):
        entry = found.setdefault(pk, [role, unit_id, path, depth, level, on_duty, set()])
        if group:
            entry[6].add(group)
    return tuple(
        HeldRole(role, unit_id, path, depth, level, on_duty, frozenset(groups))
        for role, unit_id, path, depth, level, on_duty, groups in found.values()
    )


def roles_from_json(value: str | list) -> tuple[HeldRole, ...]:
    """The roles accounts.sql.roles_json_sql read (PostgreSQL hands back a list, SQLite text), in the
    order _read_roles gives them."""
    rows = json.loads(value) if isinstance(value, str) else value
    rows = sorted(rows, key=lambda row: (row[3], row[0]))
    return tuple(
        HeldRole(role, unit_id, path, depth, level, bool(on_duty), frozenset(groups))
        for _pk, role, unit_id, path, depth, level, on_duty, groups in rows
    )


def scope_preload(user: User, roles: tuple[HeldRole, ...]) -> None:
    """Keep a scope built from roles read with the user (the token check's one statement)."""
    user._scope = Scope(user=user, roles=roles)


def scope_of(user: User | None) -> Scope:
    """The user's scope, read once and kept on the user object (one request, one task)."""
    if user is None or not user.is_authenticated:
        return Scope(user=None, roles=())
    cached = getattr(user, "_scope", None)
    if cached is None:
        cached = Scope(user=user, roles=_read_roles(user))
        user._scope = cached
    return cached


def scope_forget(user: User) -> None:
    """Drop the kept scope after the user's own roles changed in this request."""
    user.__dict__.pop("_scope", None)
