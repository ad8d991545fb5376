"""Who a notice reaches, decided at read time from the reader's place in the tree.

A reader's *positions* are its own unit (with its user type: teacher, student …) and the unit of each
role it holds (with that role). A notice's audience is a few ``NoticeTarget`` rows. A position is in
the audience when a target covers its unit (the unit itself, or a unit above it when the target takes
its subtree), the unit's level is in the target's level mask and the position's kind in its kind mask
(a zero mask: no limit). Nothing is written per recipient when a notice is published, so a user
created or moved afterwards sees exactly what their new place is covered by.

The same rule is written three times, for three places that cannot share code: as a Django filter
(the inbox, ``targets_q``), in Python (live delivery's socket filter, ``target_covers``) and in SQL
(the statistics, notices/sql.py). tests/notices/test_audience.py checks them against each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F, Q
from django.db.models.lookups import Exact

from accounts.models import User
from accounts.scope import scope_of
from helpdesk.core.paths import ancestor_paths
from orgtree.models import OrgUnit

from .models import kind_bit, level_bit


@dataclass(frozen=True)
class Position:
    """One unit a reader is in, its level, and the bit mask of the kinds it is there as."""

    path: str
    level: int | None
    kinds: int


def positions_of(user: User) -> tuple[Position, ...]:
    """The reader's positions, one per unit (kinds merged), from the scope object and its own unit."""
    if user is None or not user.is_authenticated:
        return ()
    found: dict[str, list] = {}
    unit = user.unit if user.unit_id else None
    if unit is not None:
        found[unit.path] = [unit.level, kind_bit(user.user_type)]
    for held in scope_of(user).roles:
        entry = found.setdefault(held.unit_path, [held.unit_level, 0])
        entry[1] |= kind_bit(held.role)
    return tuple(Position(path, level, kinds) for path, (level, kinds) in sorted(found.items()))


def _bit_q(field: str, bits: int) -> Q:
    """``field`` is 0 (no limit) or shares a bit with ``bits``."""
    if not bits:
        return Q(**{field: 0})
    return Q(**{field: 0}) | ~Q(Exact(F(field).bitand(bits), 0))


def targets_q(positions: Iterable[Position], prefix: str = "") -> Q:
    """NoticeTarget rows (``prefix``: the relation's name and ``__`` when filtered from elsewhere)
    that cover one of ``positions``. Each position asks for its own path and the paths above it: a
    handful of equality lookups on the target index."""
    q = Q(pk__in=[]) if not prefix else Q(**{f"{prefix}pk__in": []})
    for position in positions:
        above = ancestor_paths(position.path, OrgUnit.steplen)[1:]
        where = Q(**{f"{prefix}path": position.path})
        if above:
            where |= Q(**{f"{prefix}path__in": above, f"{prefix}subtree": True})
        q |= (
            where
            & _bit_q(f"{prefix}level_mask", level_bit(position.level))
            & _bit_q(f"{prefix}kind_mask", position.kinds)
        )
    return q


@dataclass(frozen=True)
class TargetSpec:
    path: str
    subtree: bool
    level_mask: int
    kind_mask: int

    def as_payload(self) -> dict:
        return {"path": self.path, "subtree": self.subtree, "level_mask": self.level_mask, "kind_mask": self.kind_mask}


def target_covers(target: TargetSpec, position: Position) -> bool:
    if not (position.path == target.path or (target.subtree and position.path.startswith(target.path))):
        return False
    if target.level_mask and not (target.level_mask & level_bit(position.level)):
        return False
    return not (target.kind_mask and not (target.kind_mask & position.kinds))


def covers_any(targets: Iterable[TargetSpec], positions: Iterable[Position]) -> bool:
    positions = tuple(positions)
    return any(target_covers(target, position) for target in targets for position in positions)


# --- Live delivery: the socket groups of helpdesk.core.subscriptions --------------------------------
SUBSCRIBER = "notices"


def unit_group(path: str) -> str:
    """The socket group of everyone with a position at or below the unit at ``path``."""
    return f"notices.u.{path}"


def socket_membership(user: User):
    """The groups a socket joins: one per unit at or above each of the user's positions (a handful:
    the tree has five levels), and the positions, which the frame filter matches a target against."""
    from helpdesk.core.subscriptions import Membership

    positions = positions_of(user)
    groups: dict[str, None] = {}
    for position in positions:
        for path in ancestor_paths(position.path, OrgUnit.steplen):
            groups.setdefault(unit_group(path), None)
    return Membership(groups=tuple(groups), context=positions)


def socket_accepts(positions: tuple[Position, ...], payload: dict) -> bool:
    """A frame for the audience piece in ``payload["audience"]`` is for this socket's user when the
    piece covers one of its positions."""
    audience = payload.get("audience") or {}
    target = TargetSpec(
        path=str(audience.get("path", "")),
        subtree=bool(audience.get("subtree")),
        level_mask=int(audience.get("level_mask") or 0),
        kind_mask=int(audience.get("kind_mask") or 0),
    )
    return bool(target.path) and covers_any([target], positions)
