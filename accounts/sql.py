"""Raw SQL of accounts. Table and column names come from the models' ``_meta``; values are parameters."""

from __future__ import annotations

import functools

from rest_framework.authtoken.models import Token

from orgtree.models import OrgUnit

from .models import User


@functools.cache
def token_with_user_and_unit_sql() -> str:
    """A token's creation time, its user's columns and the user's unit's columns, by token key."""
    user_columns = ", ".join(f"u.{f.column}" for f in User._meta.concrete_fields)
    unit_columns = ", ".join(f"o.{f.column}" for f in OrgUnit._meta.concrete_fields)
    return (
        f"SELECT t.created, {user_columns}, {unit_columns} FROM {Token._meta.db_table} t "  # noqa: S608
        f"JOIN {User._meta.db_table} u ON u.id = t.user_id "
        f"LEFT JOIN {OrgUnit._meta.db_table} o ON o.id = u.unit_id WHERE t.key = %s"
    )
