from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

# The API first: mobile clients' requests are the most frequent, and Django tries the patterns in order.
urlpatterns = [
    path("api/v1/", include("helpdesk.api.urls")),
    path("", views.home, name="home"),
    path("healthz", views.health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("accounts.urls")),
    path("org/", include("accounts.directory_urls")),
    # Captcha images and refresh for the password change page (django-simple-captcha).
    path("captcha/", include("captcha.urls")),
    path("tickets/", include("tickets.urls")),
    path("knowledge/", include("knowledge.urls")),
    path("notices/", include("notices.urls")),
    path("chat/", include("chat.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The websocket and its event types (AsyncAPI 2.6), generated from the events registry.
    path("api/asyncapi.json", views.asyncapi_schema, name="api-asyncapi"),
    # The split view loads Swagger UI's start-up script from ?script instead of inline, which the
    # Content-Security-Policy refuses; the page's own small <style> block is allowed on this page only.
    path(
        "api/docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]

# Uploaded avatars are for signed-in users only and are served by Django in every setting (the
# platform runs on intranets without a separate file server); serve() refuses paths outside the root.
urlpatterns += [
    re_path(r"^media/(?P<path>avatars/.+)$", views.avatar_file, name="media-avatar"),
]

handler404 = "helpdesk.core.api.errors.not_found"
handler500 = "helpdesk.core.api.errors.server_error"
