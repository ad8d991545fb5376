from django.urls import path
from rest_framework.routers import SimpleRouter

from .. import api

# Path converters (not regexes): ids are integers in the URLs and in the OpenAPI schema.
router = SimpleRouter(use_regex_path=False)
router.register("users", api.UserDirectoryViewSet, basename="api-users")
router.register("accounts", api.AccountViewSet, basename="api-accounts")
router.register("roles", api.RoleAssignmentViewSet, basename="api-roles")

urlpatterns = [
    path("auth/token/", api.TokenView.as_view(), name="api-token"),
    path("auth/token/refresh/", api.TokenRefreshView.as_view(), name="api-token-refresh"),
    path("auth/logout/", api.SignOutView.as_view(), name="api-logout"),
    path("me/", api.MeView.as_view(), name="api-me"),
    path("me/password/", api.PasswordChangeView.as_view(), name="api-me-password"),
    path("me/duty/", api.DutyView.as_view(), name="api-me-duty"),
    path("me/devices/", api.DeviceListView.as_view(), name="api-me-devices"),
    path("me/devices/<int:pk>/", api.DeviceDetailView.as_view(), name="api-me-device"),
    # A unit's people, beside the org tree's own unit endpoints (orgtree knows nothing of accounts).
    path("org/units/<int:pk>/members/", api.UnitMembersView.as_view(), name="api-units-members"),
    *router.urls,
]
