from django.urls import path

from . import views

app_name = "orgtree"
urlpatterns = [
    path("", views.directory, name="directory"),
    path("units/<int:pk>/children/", views.unit_children, name="unit_children"),
    path("units/<int:pk>/members/", views.unit_members, name="unit_members"),
    path("search/", views.search, name="search"),
]
