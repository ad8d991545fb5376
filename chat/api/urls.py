from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(use_regex_path=False)
router.register("chat/conversations", views.ConversationViewSet, basename="api-chat-conversations")

urlpatterns = [
    path("chat/unread/", views.UnreadView.as_view(), name="api-chat-unread"),
    path("chat/blocks/", views.BlockListView.as_view(), name="api-chat-blocks"),
    path("chat/blocks/<int:user_id>/", views.BlockDetailView.as_view(), name="api-chat-block"),
    path("chat/preferences/", views.PreferencesView.as_view(), name="api-chat-preferences"),
    path("chat/presence/", views.PresenceView.as_view(), name="api-chat-presence"),
    *router.urls,
]
