"""Reads of accounts, each scoped to what the acting user may see.

The directory (search, unit members, public profiles) is open to every signed-in user, as in the
manual's contact search (2.3.1) and unit directory (2.3.3, 2.3.4); it exposes public fields to
everyone, and phone, e-mail and roles to the colleagues ``Scope.sees_details_of`` names
(``directory_details``).
Managed accounts (full records) are visible to the administrators of the account's unit or of a
unit above it whose role is above every role the account holds (see ``managed_users``), and to
platform operators (superusers).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from helpdesk.core.db import orders_by_code_point as _orders_by_code_point
from helpdesk.core.db import prefix_upper_bound as _prefix_upper_bound
from helpdesk.core.paths import ancestor_paths
from orgtree.models import OrgUnit
from orgtree.selectors import subtree_range_filter, unit_pinyin_search, unit_search

from .models import (
    DeviceSession,
    HandlingGroup,
    Notification,
    NotificationPreference,
    PushDevice,
    Role,
    RoleAssignment,
    RoleChange,
    User,
    UserSearchTerm,
)
from .scope import scope_of, strictly_below_q, subtrees_q

SEARCH_TERM_MAX = 64


def admin_unit_paths(*, actor: User) -> list[str]:
    """Paths of the units whose subtrees ``actor`` administers."""
    return list(scope_of(actor).admin_paths)


def is_unit_admin(*, actor: User) -> bool:
    return scope_of(actor).is_unit_admin


def can_manage_unit(*, actor: User, unit: OrgUnit) -> bool:
    return scope_of(actor).manages_unit(unit)


def managed_units(*, actor: User) -> QuerySet[OrgUnit]:
    scope = scope_of(actor)
    if scope.is_superuser:
        return OrgUnit.objects.all()
    return OrgUnit.objects.filter(scope.subtree_q("path", Role.UNIT_ADMIN))


def managed_users(*, actor: User) -> QuerySet[User]:
    """Accounts ``actor`` may manage (edit, reset, deactivate, give roles).

    An administrator manages an account only when the account's home unit lies in its subtree and
    every role the account holds is below the administrator's: an administrator role strictly below
    one of the actor's administered units, any other role inside one of its subtrees. Without the
    role check a county administrator could reset the password of a provincial administrator whose
    home unit happens to be the county, and act as it. Superusers and back-office staff are managed
    by superusers only.
    """
    users = User.objects.select_related("unit")
    scope = scope_of(actor)
    if scope.is_superuser:
        return users
    paths = scope.admin_paths
    if not paths:
        return users.none()
    role_below = (Q(role=Role.UNIT_ADMIN) & strictly_below_q(paths, "unit__path")) | (
        ~Q(role=Role.UNIT_ADMIN) & subtrees_q(paths, "unit__path")
    )
    role_above = RoleAssignment.objects.filter(user=OuterRef("pk")).exclude(role_below)
    return users.filter(subtrees_q(paths, "unit__path"), is_superuser=False, is_staff=False).exclude(Exists(role_above))


def can_manage_user(*, actor: User, user: User) -> bool:
    return managed_users(actor=actor).filter(pk=user.pk).exists()


def managed_users_filtered(
    *,
    actor: User,
    unit: OrgUnit | None = None,
    subtree: bool = False,
    user_type: str | None = None,
    is_active: bool | None = None,
    search: str | None = None,
    search_names: bool = True,
) -> QuerySet[User]:
    """Managed accounts narrowed by the filters the portal and the API offer. ``search`` is an
    account prefix, or an account or name prefix with ``search_names``."""
    users = managed_users(actor=actor)
    if unit is not None:
        users = users.filter(**subtree_range_filter(unit, "unit__")) if subtree else users.filter(unit=unit)
    if user_type:
        users = users.filter(user_type=user_type)
    if is_active is not None:
        users = users.filter(is_active=is_active)
    needle = (search or "").strip()
    if needle:
        matches = Q(username__startswith=needle)
        if search_names:
            matches |= Q(name__startswith=needle)
        users = users.filter(matches)
    return users


def managed_unit_search(*, actor: User, query: str, limit: int = 20) -> list[OrgUnit]:
    """Units ``actor`` manages whose name or code starts with ``query``, then those whose name
    contains it, then (for a query of Latin letters) those whose name's pinyin or pinyin initials
    start with it, at most ``limit`` in all, for the account forms' unit picker.

    Names and codes are matched in the database by prefix (orgtree's index) and by substring in
    tree order, pinyin and initials by prefix on their own indexes (orgtree keeps both columns),
    each stopping at ``limit`` rows: any managed unit is found, the last school of a province too.
    """
    needle = (query or "").strip()[:100]
    if not needle:
        return []
    managed = managed_units(actor=actor)
    found: dict[int, OrgUnit] = {}

    def add(units) -> None:
        for unit in units:
            if len(found) >= limit:
                return
            found.setdefault(unit.pk, unit)

    add(unit_search(query=needle).filter(pk__in=managed.values("pk"))[:limit])
    if needle.isascii() and needle.isalnum() and not needle.isdigit():
        # School codes mix letters and digits (S110108001); unit_search takes only digits as a code.
        add(managed.filter(code__startswith=needle.upper()).order_by("code")[:limit])
    add(managed.filter(name__contains=needle).order_by("path")[:limit])
    if needle.isascii() and needle.isalpha():
        for initials in (False, True):
            if len(found) < limit:
                add(unit_pinyin_search(query=needle, initials=initials, units=managed)[:limit])
    return list(found.values())


def managed_user_get(*, actor: User, user_id: int) -> User:
    """A managed account by id; one outside the actor's subtrees does not exist for them."""
    try:
        return managed_users(actor=actor).get(pk=user_id)
    except (User.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def managed_unit_get(*, actor: User, unit_id: int) -> OrgUnit:
    try:
        return managed_units(actor=actor).get(pk=unit_id)
    except (OrgUnit.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def directory_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True).select_related("unit")


def directory_user_get(*, user_id: int) -> User:
    try:
        return directory_users().get(pk=user_id)
    except (User.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def directory_search(*, query: str) -> QuerySet[UserSearchTerm]:
    """Active users whose account, name, nickname, pinyin or pinyin initials start with ``query``.

    Rows are search terms in term order (walks the term index; bounded by the page size). One user
    can match on more than one term; callers drop repeats within a page.
    """
    needle = normalise_search_query(query)
    if not needle:
        return UserSearchTerm.objects.none()
    terms = UserSearchTerm.objects.filter(user__is_active=True)
    after = _prefix_upper_bound(needle)
    if after is not None:
        # "Starts with" as a range: the (term, user) index then serves the filter and the order
        # together and a page stops after 21 rows. With LIKE alone, PostgreSQL (unless the
        # collation is exactly "C") can only use the pattern_ops index and sorts every match:
        # seconds for "z" among a million users.
        terms = terms.filter(term__gte=needle, term__lt=after)
    if after is None or not _orders_by_code_point():
        # Exact recheck where the range is not exact (collations that ignore punctuation). Not
        # added otherwise: PostgreSQL multiplies the LIKE's and the range's selectivities (2 rows
        # estimated for 55,000 "zhang…" terms), sorts them all, and a page takes 2.7 s (bench/).
        terms = terms.filter(term__startswith=needle)
    return terms.select_related("user", "user__unit").order_by("term", "user_id")


def normalise_search_query(query: str) -> str:
    return "".join((query or "").split()).lower()[:SEARCH_TERM_MAX]


def unit_members(*, unit: OrgUnit, subtree: bool = False) -> QuerySet[User]:
    """Active members of ``unit`` (or of its whole subtree), in tree order then id."""
    users = directory_users()
    if subtree:
        # A range on the unit's path walks the tree index; users join through (unit_id, id).
        return users.filter(**subtree_range_filter(unit, "unit__")).order_by("unit__path", "id")
    return users.filter(unit=unit).order_by("id")


def directory_details(*, viewer: User, people: list[User]) -> list[User]:
    """Mark each of ``people`` (one page of the directory) with what ``viewer`` may see of it:
    ``details_visible`` and, when visible, ``directory_roles`` (its role assignments with their
    units). The rule is ``Scope.sees_details_of``; the roles of the whole page come in one query.
    Phone and e-mail are on the user rows already; templates and serializers show them only when
    ``details_visible``."""
    scope = scope_of(viewer)
    roles: dict[int, list[RoleAssignment]] = {}
    if people:
        assignments = RoleAssignment.objects.filter(user_id__in={p.pk for p in people}).select_related("unit")
        for assignment in assignments.order_by("unit__path", "role"):
            roles.setdefault(assignment.user_id, []).append(assignment)
    for person in people:
        held = roles.get(person.pk, [])
        person.details_visible = scope.sees_details_of(person, [a.unit.path for a in held])
        person.directory_roles = held if person.details_visible else []
    return people


def user_roles(*, user: User) -> QuerySet[RoleAssignment]:
    return RoleAssignment.objects.filter(user=user).select_related("unit").prefetch_related("handling_groups")


def managed_role_assignments(*, actor: User) -> QuerySet[RoleAssignment]:
    """Role assignments ``actor`` may see and take away: in its subtrees, held by accounts it manages."""
    qs = RoleAssignment.objects.select_related("user", "unit").prefetch_related("handling_groups")
    scope = scope_of(actor)
    if scope.is_superuser:
        return qs
    return qs.filter(scope.subtree_q("unit__path", Role.UNIT_ADMIN)).filter(
        user__in=managed_users(actor=actor).values("pk")
    )


def managed_role_get(*, actor: User, user: User, assignment_id: int) -> RoleAssignment:
    """One role of an account ``actor`` manages, held in its subtrees; any other is a 404."""
    try:
        return managed_role_assignments(actor=actor).filter(user=user).get(pk=assignment_id)
    except (RoleAssignment.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def handling_groups() -> QuerySet[HandlingGroup]:
    return HandlingGroup.objects.order_by("id")


def agent_on_duty(*, user: User) -> bool | None:
    """None when ``user`` is no support agent, else whether it is on duty in any of its agent roles
    (read from the scope, which the request has read already)."""
    held = scope_of(user).held(Role.SUPPORT_AGENT)
    return any(role.on_duty for role in held) if held else None


def own_agent_roles(*, user: User) -> QuerySet[RoleAssignment]:
    """The user's own support-agent roles (what its duty switch changes)."""
    return user_roles(user=user).filter(role=Role.SUPPORT_AGENT).order_by("unit__path", "id")


def role_units_for(*, actor: User, user: User, limit: int, query: str = "") -> list[OrgUnit]:
    """Units ``actor`` may give ``user`` a role in, for a picker: first the account's own unit and
    those above it that ``actor`` manages (where its roles usually are), then the rest of the
    actor's subtrees in tree order, at most ``limit`` in all. With ``query``, only the managed units
    that ``managed_unit_search`` finds for it. Any managed unit is accepted on
    submission; the bound only keeps a province administrator's page small."""
    if (query or "").strip():
        # The account forms' unit search (name, code, pinyin), within the actor's subtrees.
        return managed_unit_search(actor=actor, query=query, limit=limit)
    units = managed_units(actor=actor)
    chain: list[OrgUnit] = []
    if user.unit_id is not None:
        paths = ancestor_paths(user.unit.path, OrgUnit.steplen)
        chain = list(units.filter(path__in=paths).order_by("-depth"))
    seen = {unit.pk for unit in chain}
    rest = [unit for unit in units.order_by("path")[: limit + len(seen)] if unit.pk not in seen]
    return (chain + rest)[:limit]


def managed_role_changes(*, actor: User, user_id: int) -> QuerySet[RoleChange]:
    """The role changes of an account ``actor`` manages, newest first (scoped like the account:
    one it does not manage is a 404)."""
    user = managed_user_get(actor=actor, user_id=user_id)
    return RoleChange.objects.filter(user=user).select_related("actor", "unit").order_by("-id")


# --- Signed-in devices ------------------------------------------------------------------------------
def user_devices(*, user: User) -> QuerySet[DeviceSession]:
    """The account's own devices still signed in, most recently used first (a handful per person)."""
    return DeviceSession.objects.filter(user=user, expires_at__gt=timezone.now()).order_by("-last_used_at", "-id")


def device_for_session(*, session_key: str | None) -> DeviceSession | None:
    if not session_key:
        return None
    return DeviceSession.objects.filter(session_key=session_key).first()


# --- Notification centre -----------------------------------------------------------------------------
def notifications_of(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's own notifications, newest first (nobody reads another's)."""
    notifications = Notification.objects.filter(user=user)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-id")


def notification_unread_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_preferences_of(*, user: User) -> list[dict]:
    """Every registered kind with the user's channels (their choice, else the kind's defaults)."""
    from . import notifications as kinds

    chosen = {p.kind: p for p in NotificationPreference.objects.filter(user=user)}
    return [
        {
            "kind": kind.name,
            "label": str(kind.label),
            "portal": True,
            "email": chosen[kind.name].email if kind.name in chosen else kind.email,
            "push": chosen[kind.name].push if kind.name in chosen else kind.push,
        }
        for kind in kinds.all_kinds()
    ]


def push_devices_of(*, user: User) -> QuerySet[PushDevice]:
    return PushDevice.objects.filter(user=user).order_by("-last_seen_at", "-id")
