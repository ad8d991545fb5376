"""Portal URLs of the chat (聊天), under /chat/."""

from django.urls import path

from .views import page

app_name = "chat"

urlpatterns = [
    path("", page.chat_index, name="index"),
]
