"""Portal URLs of the knowledge base, under /knowledge/."""

from django.urls import path

from .views import articles, review

app_name = "knowledge"

urlpatterns = [
    path("", articles.article_index, name="index"),
    path("new/", articles.article_create, name="create"),
    path("preview/", articles.article_preview, name="preview"),
    path("review/", review.review_queue, name="review"),
    path("suggestions/", articles.article_suggestions, name="suggest"),
    path("<int:pk>/solved/", articles.article_solved, name="solved"),
    path("from-ticket/<int:ticket_id>/", articles.article_from_ticket, name="from_ticket"),
    path("<int:pk>/", articles.article_detail, name="detail"),
    path("<int:pk>/edit/", articles.article_edit, name="edit"),
    path("<int:pk>/vote/", articles.article_vote, name="vote"),
    path("<int:pk>/do/<slug:action>/", articles.article_action, name="action"),
    path("<int:pk>/history/", review.article_history, name="history"),
    path("<int:pk>/history/<int:number>/", review.article_version, name="version"),
    path("<int:pk>/files/", articles.attachment_upload, name="attachment_upload"),
    path("<int:pk>/files/<int:attachment_id>/", articles.attachment_download, name="attachment"),
]
