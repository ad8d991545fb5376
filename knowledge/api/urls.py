from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views
from .suggest import SolvedView, SuggestionsView

router = SimpleRouter(use_regex_path=False)
router.register("knowledge/categories", views.CategoryViewSet, basename="api-knowledge-categories")
router.register("knowledge/articles", views.ArticleViewSet, basename="api-knowledge-articles")

# Suggestions while a question is typed and 这解决了我的问题 (knowledge/api/suggest.py, the search's).
urlpatterns = [
    path("knowledge/suggestions/", SuggestionsView.as_view(), name="api-knowledge-suggestions"),
    path("knowledge/articles/<int:pk>/solved/", SolvedView.as_view(), name="api-knowledge-solved"),
    *router.urls,
]
