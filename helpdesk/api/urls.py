from django.urls import include, path

# Tickets first: filing and working tickets are the API's busiest paths (the prefixes do not overlap).
urlpatterns = [
    path("", include("tickets.api.urls")),
    path("", include("accounts.api_urls")),
    path("", include("orgtree.api_urls")),
]
