from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("orgtree.api_urls")),
    path("", include("tickets.api.urls")),
]
