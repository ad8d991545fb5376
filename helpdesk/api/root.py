"""``GET /api/v1/``: the API's index, so a client (or a person with curl) starts from one known URL
and finds every top-level resource, the OpenAPI schema and the interactive docs from there.

Open to anonymous clients, like the schema: it lists addresses, nothing behind them, and a mobile
client needs it before it has a token (to find ``auth/token/``). The addresses are reversed from the
URL names, so they follow the URLconf; a test checks that every top-level prefix is listed.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

# (key in "resources", URL name, what it is). A path with an id is given as a URI template.
RESOURCES: tuple[tuple[str, str, str], ...] = (
    ("auth_token", "api-token", "POST an account and password: a new device's tokens; DELETE signs it out."),
    ("me", "api-me", "The signed-in user's profile, password and duty."),
    ("notifications", "api-notifications", "The notification centre: your notifications, unread count, preferences."),
    ("devices", "api-push-devices", "Phones registered for push notifications (POST a provider's token)."),
    ("users", "api-users-list", "The directory: people of the units you may see."),
    ("accounts", "api-accounts-list", "Accounts a unit administrator manages."),
    ("roles", "api-roles-detail", "One role assignment (granted under accounts/{id}/roles/)."),
    ("org_units", "api-units-list", "The organisation tree."),
    ("tickets", "api-tickets-list", "Technical support: lists, search, filing and the ticket lifecycle."),
    ("ticket_follow_ups", "api-ticket-follow-ups-list", "Follow-ups of poorly rated tickets (supervisors)."),
    ("ticket_reports", "api-ticket-reports", "Ticket figures of a unit's subtree."),
    ("ticket_support_settings", "api-ticket-support-settings", "A unit's answer review switch."),
    ("knowledge_articles", "api-knowledge-articles-list", "The knowledge base: articles, search, review, versions."),
    ("knowledge_categories", "api-knowledge-categories-list", "The knowledge base's category tree."),
    ("notices", "api-notices-list", "公告: notices you wrote or manage (sent), write, review, statistics."),
    ("notices_inbox", "api-notices-inbox", "收件箱: notices addressed to you; delta sync with updated_after."),
    ("chat_conversations", "api-chat-conversations-list", "聊天: your conversations, their messages and files."),
    ("chat_unread", "api-chat-unread", "Unread chat messages in total."),
    ("chat_blocks", "api-chat-blocks", "People you block in chat (拒收)."),
    ("chat_preferences", "api-chat-preferences", "Chat preferences (font size)."),
    ("chat_presence", "api-chat-presence", "Who is online."),
)
# URL names whose path takes an id: the URL argument and the template variable shown for it.
TEMPLATED = {"api-roles-detail": ("pk", "id"), "api-ticket-support-settings": ("unit_id", "unit_id")}
# A number no real id path segment is confused with while the template is made.
_PLACEHOLDER = 987654321


def _url(request, name: str) -> str:
    if name not in TEMPLATED:
        return request.build_absolute_uri(reverse(name))
    # Reversed with a placeholder id, which becomes the URI template's variable ({id}).
    argument, variable = TEMPLATED[name]
    url = request.build_absolute_uri(reverse(name, kwargs={argument: _PLACEHOLDER}))
    # After build_absolute_uri, which would escape the template's braces.
    return url.replace(str(_PLACEHOLDER), f"{{{variable}}}")


class ApiResourcesSerializer(serializers.Serializer):
    """Absolute URLs of the top-level resources."""

    def get_fields(self):
        # One URL field per resource, declared from RESOURCES so the schema and the answer agree.
        return {key: serializers.CharField(read_only=True, help_text=text) for key, _name, text in RESOURCES}


class ApiRootSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    version = serializers.CharField(read_only=True, help_text=_("The API version in the path (/api/v1/)."))
    schema = serializers.CharField(read_only=True, help_text=_("The OpenAPI 3 schema of this API."))
    docs = serializers.CharField(read_only=True, help_text=_("Interactive documentation of the schema."))
    resources = ApiResourcesSerializer(read_only=True)


class ApiRootView(APIView):
    permission_classes = [AllowAny]
    # Nothing here depends on who asks: no credentials are read, and the schema says none are needed.
    authentication_classes: list = []

    @extend_schema(
        operation_id="api_root",
        tags=["root"],
        responses={200: ApiRootSerializer},
        description=(
            "The API's index: absolute URLs of its top-level resources, the OpenAPI schema and the docs. "
            "Needs no sign-in. A URL with `{id}` or `{unit_id}` is a URI template."
        ),
    )
    def get(self, request):
        return Response(
            {
                "name": settings.SPECTACULAR_SETTINGS.get("TITLE", ""),
                "version": "v1",
                "schema": request.build_absolute_uri(reverse("api-schema")),
                "docs": request.build_absolute_uri(reverse("api-docs")),
                "resources": {key: _url(request, name) for key, name, _text in RESOURCES},
            }
        )
