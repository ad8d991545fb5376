from rest_framework.routers import SimpleRouter

from . import views as api

# Path converters (not regexes): ids are integers in the URLs and in the OpenAPI schema.
router = SimpleRouter(use_regex_path=False)
router.register("org/units", api.UnitViewSet, basename="api-units")

urlpatterns = router.urls
