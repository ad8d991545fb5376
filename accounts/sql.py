"""Raw SQL of accounts. Table and column names come from the models' ``_meta``; values are parameters."""

from __future__ import annotations

import functools

from orgtree.models import OrgUnit

from .models import DeviceSession, User

# The device columns the token check reads, first in its row.
DEVICE_COLUMNS = ("id", "user_id", "kind", "name", "created_at", "last_used_at", "access_expires_at", "expires_at")


@functools.cache
def device_with_user_and_unit_sql() -> str:
    """A device's columns, its user's columns and the user's unit's columns, by access token digest."""
    device_columns = ", ".join(f"t.{DeviceSession._meta.get_field(name).column}" for name in DEVICE_COLUMNS)
    user_columns = ", ".join(f"u.{f.column}" for f in User._meta.concrete_fields)
    unit_columns = ", ".join(f"o.{f.column}" for f in OrgUnit._meta.concrete_fields)
    return (
        f"SELECT {device_columns}, {user_columns}, {unit_columns} FROM {DeviceSession._meta.db_table} t "  # noqa: S608
        f"JOIN {User._meta.db_table} u ON u.id = t.user_id "
        f"LEFT JOIN {OrgUnit._meta.db_table} o ON o.id = u.unit_id WHERE t.access_digest = %s"
    )
