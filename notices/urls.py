"""Portal URLs of notices (公告), under /notices/."""

from django.urls import path

from .views import editor, pages, stats

app_name = "notices"

urlpatterns = [
    path("", pages.inbox, name="inbox"),
    path("sent/", pages.sent, name="sent"),
    path("review/", pages.review, name="review"),
    path("new/", editor.notice_create, name="create"),
    path("preview/", editor.notice_preview, name="preview"),
    path("<int:pk>/", pages.notice_detail, name="detail"),
    path("<int:pk>/edit/", editor.notice_edit, name="edit"),
    path("<int:pk>/forward/", editor.notice_forward, name="forward"),
    path("<int:pk>/do/<slug:action>/", pages.notice_action, name="action"),
    path("<int:pk>/stats/", stats.notice_stats, name="stats"),
    path("<int:pk>/stats/export/", stats.stats_export, name="stats_export"),
    path("<int:pk>/files/", pages.attachment_upload, name="attachment_upload"),
    path("<int:pk>/files/<int:attachment_id>/", pages.attachment_download, name="attachment"),
    path("<int:pk>/files/<int:attachment_id>/delete/", pages.attachment_delete, name="attachment_delete"),
]
