from django.urls import path
from rest_framework.routers import SimpleRouter

from . import contacts, groups, views

router = SimpleRouter(use_regex_path=False)
router.register("chat/conversations", views.ConversationViewSet, basename="api-chat-conversations")
router.register("chat/groups", groups.GroupViewSet, basename="api-chat-groups")

urlpatterns = [
    path("chat/unread/", views.UnreadView.as_view(), name="api-chat-unread"),
    path("chat/blocks/", views.BlockListView.as_view(), name="api-chat-blocks"),
    path("chat/blocks/<int:user_id>/", views.BlockDetailView.as_view(), name="api-chat-block"),
    path("chat/preferences/", views.PreferencesView.as_view(), name="api-chat-preferences"),
    path("chat/presence/", views.PresenceView.as_view(), name="api-chat-presence"),
    path("chat/people/", contacts.PeopleSearchView.as_view(), name="api-chat-people"),
    path("chat/people/<int:user_id>/", contacts.PersonCardView.as_view(), name="api-chat-person"),
    path("chat/friend-requests/", contacts.FriendRequestListView.as_view(), name="api-chat-friend-requests"),
    path("chat/friend-requests/seen/", contacts.FriendRequestsSeenView.as_view(), name="api-chat-friend-requests-seen"),
    path(
        "chat/friend-requests/<int:request_id>/decide/",
        contacts.FriendRequestDecideView.as_view(),
        name="api-chat-friend-request-decide",
    ),
    path("chat/friends/", contacts.FriendListView.as_view(), name="api-chat-friends"),
    path("chat/friends/<int:user_id>/", contacts.FriendDetailView.as_view(), name="api-chat-friend"),
    path("chat/friend-groups/", contacts.FriendGroupListView.as_view(), name="api-chat-friend-groups"),
    path("chat/friend-groups/<int:group_id>/", contacts.FriendGroupDetailView.as_view(), name="api-chat-friend-group"),
    *router.urls,
]
