from django.urls import include, path

from .root import ApiRootView

# Tickets first: filing and working tickets are the API's busiest paths (the prefixes do not overlap).
# The index (GET /api/v1/) last: it matches only the empty path.
urlpatterns = [
    path("", include("tickets.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("orgtree.api.urls")),
    path("", include("knowledge.api.urls")),
    path("", include("chat.api.urls")),
    path("", include("notices.api.urls")),
    path("", ApiRootView.as_view(), name="api-root"),
]
