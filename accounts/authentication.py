"""Token authentication for the API, which every mobile request passes through.

It loads the token, its user and the user's unit in one prepared statement: almost every call
scopes its reads by the caller's unit, and a join that PostgreSQL plans afresh on every request
costs more to plan (0.3 ms) than to run.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from accounts.models import User
from helpdesk.core.db import fetch_prepared
from orgtree.models import OrgUnit

from .sql import token_with_user_and_unit_sql


class UnitTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        row = fetch_prepared(token_with_user_and_unit_sql(), [key])
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
