app_name = "orgtree"
urlpatterns = []
