"""Writes to the org tree. Callers import from here: ``from orgtree import services``."""

from .units import (
    unit_create,
    unit_create_root,
    unit_set_pinyin,
    units_bulk_add_children,
    units_existing_codes,
    units_rename,
)

__all__ = [
    "unit_create",
    "unit_create_root",
    "unit_set_pinyin",
    "units_bulk_add_children",
    "units_existing_codes",
    "units_rename",
]
