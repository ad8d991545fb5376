"""REST API of accounts: token login, the signed-in user, the directory, account management.

Thin views: serializers check the shape of the input, accounts.services does every write and
accounts.selectors every scoped read. An account outside an administrator's subtree is a 404.
"""

from .directory import UnitMembersView, UserDirectoryViewSet
from .management import AccountViewSet, RoleAssignmentViewSet
from .me import (
    DeviceDetailView,
    DeviceListView,
    DutyView,
    MeView,
    PasswordChangeView,
    SignOutView,
    TokenRefreshView,
    TokenView,
)

__all__ = [
    "AccountViewSet",
    "DeviceDetailView",
    "DeviceListView",
    "DutyView",
    "MeView",
    "PasswordChangeView",
    "RoleAssignmentViewSet",
    "SignOutView",
    "TokenRefreshView",
    "TokenView",
    "UnitMembersView",
    "UserDirectoryViewSet",
]
