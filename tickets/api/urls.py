from django.urls import path
from rest_framework.routers import SimpleRouter

from . import reports, supervision, views

# Path converters (not regexes): ids are integers in the URLs and in the OpenAPI schema. The
# follow-ups come before the tickets' own routes only for readability: "follow-ups" is no int.
router = SimpleRouter(use_regex_path=False)
router.register("tickets/follow-ups", supervision.FollowUpViewSet, basename="api-ticket-follow-ups")
router.register("tickets", views.TicketViewSet, basename="api-tickets")

urlpatterns = [
    path(
        "tickets/support-settings/<int:unit_id>/",
        supervision.SupportSettingsView.as_view(),
        name="api-ticket-support-settings",
    ),
    path("tickets/reports/", reports.TicketReportView.as_view(), name="api-ticket-reports"),
    *router.urls,
]
