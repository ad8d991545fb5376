"""Portal URLs of technical support, under /tickets/."""

from django.urls import path

from . import attachment_views, report_views, views

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_index, name="index"),
    path("new/", views.ticket_create, name="create"),
    path("search/", views.ticket_search, name="search"),
    path("follow-ups/", views.follow_up_list, name="follow_ups"),
    path("follow-ups/<int:pk>/complete/", views.follow_up_complete, name="follow_up_complete"),
    path("settings/", views.support_settings, name="settings"),
    path("reports/", report_views.report_page, name="reports"),
    path("reports/export/", report_views.report_export, name="reports-export"),
    path("<int:pk>/", views.ticket_detail, name="detail"),
    path("<int:pk>/sla/", views.ticket_sla_page, name="sla"),
    path("<int:pk>/do/<slug:action>/", views.ticket_action, name="action"),
    path("<int:ticket_id>/attachments/<int:attachment_id>/", attachment_views.attachment_download, name="attachment"),
]
