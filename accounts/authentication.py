"""Token authentication for the API, which every mobile request passes through.

It loads the token, its user and the user's unit in one prepared statement: almost every call
scopes its reads by the caller's unit, and a join that PostgreSQL plans afresh on every request
costs more to plan (0.3 ms) than to run.
"""

from __future__ import annotations

import functools

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from accounts.models import User
from helpdesk.core.db import fetch_prepared
from orgtree.models import OrgUnit


@functools.cache
def _token_sql() -> str:
    user_columns = ", ".join(f"u.{f.column}" for f in User._meta.concrete_fields)
    unit_columns = ", ".join(f"o.{f.column}" for f in OrgUnit._meta.concrete_fields)
    return (
        f"SELECT t.created, {user_columns}, {unit_columns} FROM {Token._meta.db_table} t "  # noqa: S608
        f"JOIN {User._meta.db_table} u ON u.id = t.user_id "
        f"LEFT JOIN {OrgUnit._meta.db_table} o ON o.id = u.unit_id WHERE t.key = %s"
    )


class UnitTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        row = fetch_prepared(_token_sql(), [key])
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user_fields = User._meta.concrete_fields
        user = User.from_db("default", [f.attname for f in user_fields], row[1 : 1 + len(user_fields)])
        unit_values = row[1 + len(user_fields) :]
        unit = None
        if unit_values[0] is not None:
            unit = OrgUnit.from_db("default", [f.attname for f in OrgUnit._meta.concrete_fields], unit_values)
        User.unit.field.set_cached_value(user, unit)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = Token.from_db("default", ["key", "user_id", "created"], [key, user.pk, row[0]])
        Token.user.field.set_cached_value(token, user)
        return (user, token)
