from django.urls import path
from rest_framework.routers import SimpleRouter

from .. import api
from . import notifications

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
    # The notification centre (the bell), its preferences, and phones registered for push.
    path("notifications/", notifications.NotificationListView.as_view(), name="api-notifications"),
    path("notifications/unread-count/", notifications.UnreadCountView.as_view(), name="api-notifications-unread"),
    path("notifications/read/", notifications.MarkReadView.as_view(), name="api-notifications-read"),
    path(
        "notifications/preferences/",
        notifications.PreferencesView.as_view(),
        name="api-notification-preferences",
    ),
    path("devices/", notifications.PushDeviceListView.as_view(), name="api-push-devices"),
    path("devices/<int:pk>/", notifications.PushDeviceDetailView.as_view(), name="api-push-device"),
    # A unit's people, beside the org tree's own unit endpoints (orgtree knows nothing of accounts).
    path("org/units/<int:pk>/members/", api.UnitMembersView.as_view(), name="api-units-members"),
    *router.urls,
]
