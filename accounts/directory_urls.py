"""The org directory pages (组织机构 → 本单位 / 单位组织, contact search), mounted at /org/."""

from django.urls import path

from .views import directory as views

app_name = "directory"
urlpatterns = [
    path("", views.directory, name="directory"),
    path("units/<int:pk>/children/", views.unit_children, name="unit_children"),
    path("units/<int:pk>/members/", views.unit_members, name="unit_members"),
    path("search/", views.search, name="search"),
]
