"""Writes to the org tree.

Tree writes lock the parent row first: treebeard computes a new child's path from the parent's
last child, so two unlocked writers under one parent would compute the same path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from helpdesk.core.search import pinyin_and_initials

from ..models import OrgKind, OrgLevel, OrgUnit


def _default_kind(level: int) -> str:
    return OrgKind.SCHOOL if level == OrgLevel.SCHOOL else OrgKind.EDUCATION_DEPARTMENT


def _validate_unit_fields(*, name: str, code: str) -> None:
    errors: dict[str, list[str]] = {}
    if not name or not name.strip():
        errors["name"] = [_("Enter a name.")]
    elif len(name) > OrgUnit._meta.get_field("name").max_length:
        errors["name"] = [_("A name has at most 100 characters.")]
    if not code or not code.strip():
        errors["code"] = [_("Enter a code.")]
    elif len(code) > OrgUnit._meta.get_field("code").max_length:
        errors["code"] = [_("A code has at most 32 characters.")]
    elif OrgUnit.objects.filter(code=code).exists():
        errors["code"] = [_("A unit with this code already exists.")]
    if errors:
        raise ValidationError(errors)


def _pinyin_fields(name: str) -> dict[str, str]:
    full, initials = pinyin_and_initials(name)
    return {
        "name_pinyin": full[: OrgUnit._meta.get_field("name_pinyin").max_length],
        "name_initials": initials[: OrgUnit._meta.get_field("name_initials").max_length],
    }


def unit_set_pinyin(unit: OrgUnit) -> OrgUnit:
    """Fill ``unit``'s pinyin and initials from its name, in memory (for writers that save it
    themselves: the bulk loaders, the back office's form)."""
    for field, value in _pinyin_fields(unit.name).items():
        setattr(unit, field, value)
    return unit


def unit_create_root(*, name: str, code: str) -> OrgUnit:
    _validate_unit_fields(name=name, code=code)
    with transaction.atomic():
        return OrgUnit.objects.add_root(
            {
                "name": name,
                "code": code,
                "level": OrgLevel.CENTRAL,
                "kind": OrgKind.EDUCATION_DEPARTMENT,
                **_pinyin_fields(name),
            }
        )


def unit_create(*, parent: OrgUnit, name: str, code: str, level: int | None = None, kind: str | None = None) -> OrgUnit:
    """Add one unit under ``parent``. Callers check that the actor may manage ``parent``."""
    name, code = (name or "").strip(), (code or "").strip()
    _validate_unit_fields(name=name, code=code)
    if level is None:
        level = min(parent.level + 1, OrgLevel.SCHOOL)
    if level <= parent.level:
        raise ValidationError({"level": [_("A unit's level must be below its parent's.")]})
    try:
        with transaction.atomic():
            locked_parent = OrgUnit.objects.select_for_update().get(pk=parent.pk)
            fields = {"name": name, "code": code, "level": level, "kind": kind or _default_kind(level)}
            unit = OrgUnit.objects.add_child(locked_parent, {**fields, **_pinyin_fields(name)})
    except IntegrityError as exc:
        # Another writer took the code between our check and our insert.
        raise ValidationError({"code": [_("A unit with this code already exists.")]}) from exc
    parent.numchild = locked_parent.numchild
    return unit


def units_bulk_add_children(*, parent: OrgUnit, children: Sequence[OrgUnit], batch_size: int = 2000) -> int:
    """Append many unsaved units under ``parent`` in bulk; used by the loaders and generators.

    Paths are computed here the way treebeard would (after the parent's last child) so a bulk load
    and ``add_child`` can interleave safely: both run under the parent's row lock.
    """
    if not children:
        return 0
    with transaction.atomic():
        locked = OrgUnit.objects.select_for_update().get(pk=parent.pk)
        last = OrgUnit.objects.get_last_child(locked) if locked.numchild else None
        last_path = last.path if last else None
        depth = locked.depth + 1
        for child in children:
            if not child.name_pinyin:
                unit_set_pinyin(child)
            if last_path is None:
                last_path = OrgUnit._get_path(locked.path, depth, 1)
            else:
                last_path = OrgUnit._get_path(locked.path, depth, _step_number(last_path) + 1)
            child.path = last_path
            child.depth = depth
            child.numchild = 0
        OrgUnit.objects.bulk_create(children, batch_size=batch_size)
        OrgUnit.objects.filter(pk=locked.pk).update(numchild=F("numchild") + len(children))
    return len(children)


def units_rename(*, renamed: Sequence[OrgUnit], batch_size: int = 500) -> int:
    """Write the new names already set on ``renamed`` (the division loader's), with their pinyin."""
    for unit in renamed:
        unit_set_pinyin(unit)
    OrgUnit.objects.bulk_update(renamed, ["name", "name_pinyin", "name_initials"], batch_size=batch_size)
    return len(renamed)


def _step_number(path: str) -> int:
    return int(path[-OrgUnit.steplen :], 36)


def units_existing_codes(codes: Iterable[str]) -> set[str]:
    codes = list(codes)
    found: set[str] = set()
    for start in range(0, len(codes), 5000):
        found.update(OrgUnit.objects.filter(code__in=codes[start : start + 5000]).values_list("code", flat=True))
    return found
