from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(use_regex_path=False)
router.register("knowledge/categories", views.CategoryViewSet, basename="api-knowledge-categories")
router.register("knowledge/articles", views.ArticleViewSet, basename="api-knowledge-articles")

urlpatterns = router.urls
