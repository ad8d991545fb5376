from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(use_regex_path=False)
router.register("notices", views.NoticeViewSet, basename="api-notices")

urlpatterns = router.urls
