from django.urls import path

from .views import accounts as views
from .views import notifications as notification_views
from .views import roles as role_views
from .views import units as unit_views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("profile/", views.profile, name="profile"),
    path("password/", views.password_change, name="password_change"),
    path("devices/", views.devices, name="devices"),
    path("duty/", role_views.duty, name="duty"),
    # The notification centre (the bell's page).
    path("notifications/", notification_views.notifications, name="notifications"),
    path("notifications/read-all/", notification_views.notifications_mark_all_read, name="notifications_read_all"),
    path("notifications/<int:pk>/open/", notification_views.notification_open, name="notification_open"),
    path("notifications/<int:pk>/read/", notification_views.notification_mark_read, name="notification_read"),
    path("manage/", views.manage_list, name="manage"),
    path("manage/new/", views.manage_create, name="manage_create"),
    # The unit picker of the account forms (htmx fills its datalist).
    path("manage/units/", unit_views.unit_search, name="manage_unit_search"),
    path("manage/import/", views.manage_import, name="manage_import"),
    path("manage/import/template.csv", views.manage_import_template, name="manage_import_template"),
    path("manage/<int:pk>/", views.manage_edit, name="manage_edit"),
    path("manage/<int:pk>/active/", views.manage_set_active, name="manage_set_active"),
    path("manage/<int:pk>/reset-password/", views.manage_reset_password, name="manage_reset_password"),
    path("manage/<int:pk>/roles/", role_views.manage_role_add, name="manage_role_add"),
    path("manage/<int:pk>/roles/<int:role_id>/", role_views.manage_role_update, name="manage_role_update"),
    path("manage/<int:pk>/roles/<int:role_id>/remove/", role_views.manage_role_remove, name="manage_role_remove"),
]
