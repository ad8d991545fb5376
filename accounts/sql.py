"""Raw SQL of accounts. Table and column names come from the models' ``_meta``; values are parameters."""

from __future__ import annotations

import functools

from orgtree.models import OrgUnit

from .models import DeviceSession, HandlingGroup, RoleAssignment, User

# The device columns the token check reads, first in its row.
DEVICE_COLUMNS = ("id", "user_id", "kind", "name", "created_at", "last_used_at", "access_expires_at", "expires_at")


@functools.cache
def device_with_user_and_unit_sql(vendor: str = "postgresql") -> str:
    """A device's columns, its user's columns, the user's unit's columns and, last, the user's roles
    (accounts.scope reads them from here instead of a query of its own), by access token digest."""
    device_columns = ", ".join(f"t.{DeviceSession._meta.get_field(name).column}" for name in DEVICE_COLUMNS)
    user_columns = ", ".join(f"u.{f.column}" for f in User._meta.concrete_fields)
    unit_columns = ", ".join(f"o.{f.column}" for f in OrgUnit._meta.concrete_fields)
    return (
        f"SELECT {device_columns}, {user_columns}, {unit_columns}, {roles_json_sql(vendor, 'u.id')} "  # noqa: S608
        f"FROM {DeviceSession._meta.db_table} t "
        f"JOIN {User._meta.db_table} u ON u.id = t.user_id "
        f"LEFT JOIN {OrgUnit._meta.db_table} o ON o.id = u.unit_id WHERE t.access_digest = %s"
    )


def roles_json_sql(vendor: str, user_id_column: str) -> str:
    """A JSON array of the user's roles: ``[assignment id, role, unit id, unit path, depth, level,
    on duty, [handling group codes]]`` each (accounts.scope.roles_from_json reads it)."""
    through = RoleAssignment.handling_groups.through
    assignment_column = through._meta.get_field("roleassignment").column
    group_column = through._meta.get_field("handlinggroup").column
    role, unit = RoleAssignment._meta, OrgUnit._meta
    groups_from = (
        f"FROM {through._meta.db_table} rg JOIN {HandlingGroup._meta.db_table} g ON g.id = rg.{group_column} "
        f"WHERE rg.{assignment_column} = r.id"
    )
    roles_from = (
        f"FROM {role.db_table} r JOIN {unit.db_table} ou ON ou.id = r.unit_id WHERE r.user_id = {user_id_column}"
    )
    fields = "r.id, r.role, r.unit_id, ou.path, ou.depth, ou.level, r.on_duty"
    if vendor == "postgresql":
        groups = f"(SELECT coalesce(json_agg(g.code), '[]'::json) {groups_from})"
        return f"(SELECT coalesce(json_agg(json_build_array({fields}, {groups})), '[]'::json) {roles_from})"
    groups = f"json((SELECT json_group_array(g.code) {groups_from}))"
    return f"(SELECT json_group_array(json_array({fields}, {groups})) {roles_from})"
