"""Portal URLs of technical support, under /tickets/."""

from django.urls import path

from .views import attachments, reports, tickets

app_name = "tickets"

urlpatterns = [
    path("", tickets.ticket_index, name="index"),
    path("new/", tickets.ticket_create, name="create"),
    path("search/", tickets.ticket_search, name="search"),
    path("bulk-accept/", tickets.ticket_bulk_accept, name="bulk_accept"),
    path("bulk-transfer/", tickets.ticket_bulk_transfer, name="bulk_transfer"),
    path("canned-replies/", tickets.canned_reply_list, name="canned_replies"),
    path("canned-replies/<int:pk>/delete/", tickets.canned_reply_delete, name="canned_reply_delete"),
    path("follow-ups/", tickets.follow_up_list, name="follow_ups"),
    path("follow-ups/<int:pk>/complete/", tickets.follow_up_complete, name="follow_up_complete"),
    path("settings/", tickets.support_settings, name="settings"),
    path("reports/", reports.report_page, name="reports"),
    path("reports/export/", reports.report_export, name="reports-export"),
    path("<int:pk>/", tickets.ticket_detail, name="detail"),
    path("<int:pk>/sla/", tickets.ticket_sla_page, name="sla"),
    path("<int:pk>/do/<slug:action>/", tickets.ticket_action, name="action"),
    path("<int:ticket_id>/attachments/<int:attachment_id>/", attachments.attachment_download, name="attachment"),
]
