"""The chat API's shapes: strict inputs (unknown fields refused) and read-only outputs.

A message is the same object in the REST answers and in the ``chat.message`` event
(``chat.events.message_data``), so a client renders both with one code path.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from helpdesk.core.api.serializers import StrictSerializer
from helpdesk.core.search import NO_SEARCH_WORDS, has_words

from .. import events, presence
from ..models import FONT_SIZE_MAX, FONT_SIZE_MIN
from ..selectors import HISTORY_PAGE, HISTORY_PAGE_MAX
from ..services.messages import CLIENT_ID_MAX, TEXT_MAX

ID_MAX = 2**62
SEARCH_MAX = 100


# --- Outputs ---------------------------------------------------------------------------------------
class ChatPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    account = serializers.CharField(source="username", read_only=True, help_text=_("The login account."))
    name = serializers.CharField(read_only=True)
    nickname = serializers.CharField(read_only=True)
    unit_name = serializers.SerializerMethodField(help_text=_("The person's unit, for 外单位 contacts."))

    def get_unit_name(self, user) -> str:
        return user.unit.name if user.unit_id else ""


class ChatFileSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True, help_text=_("The original file name (sanitised)."))
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True, help_text=_("Bytes."))
    url = serializers.CharField(read_only=True, help_text=_("GET: the full image or the file (members only)."))
    thumbnail_url = serializers.CharField(
        read_only=True, allow_null=True, help_text=_("GET: an image's thumbnail (at most 320 px); null for files.")
    )
    width = serializers.IntegerField(read_only=True, allow_null=True, help_text=_("An image's width in pixels."))
    height = serializers.IntegerField(read_only=True, allow_null=True, help_text=_("An image's height in pixels."))


class ChatSenderSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class ChatMessageSerializer(serializers.Serializer):
    """Rendered by ``chat.events.message_data``; the fields below document it."""

    id = serializers.IntegerField(read_only=True)
    conversation = serializers.IntegerField(read_only=True)
    seq = serializers.IntegerField(
        read_only=True,
        help_text=_("The message's number in its conversation: 1, 2, 3 … without gaps, in the order stored."),
    )
    sender = ChatSenderSerializer(read_only=True)
    kind = serializers.CharField(
        read_only=True,
        help_text=_(
            "text, image, file, or system: a group's change told in `text` (张伟 将 李娜 移出了群组); its sender "
            "is who made the change."
        ),
    )
    text = serializers.CharField(read_only=True, help_text=_("Empty for images, files and recalled messages."))
    file = ChatFileSerializer(read_only=True, allow_null=True, help_text=_("An image or file; null otherwise."))
    client_id = serializers.CharField(
        read_only=True, help_text=_("The sender's own id for the message (empty if none was sent).")
    )
    created_at = serializers.DateTimeField(read_only=True)
    recalled = serializers.BooleanField(
        read_only=True, help_text=_("撤回: the sender took it back; show \u201c<sender> 撤回了一条消息\u201d.")
    )
    recalled_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def to_representation(self, instance):
        return events.message_data(instance)


class ChatConversationSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="conversation.id", read_only=True)
    kind = serializers.CharField(
        source="conversation.kind",
        read_only=True,
        help_text=_("direct (one-to-one) or group (its details: GET /api/v1/chat/groups/{id}/)."),
    )
    name = serializers.SerializerMethodField(help_text=_("What to title it: the other person's name, or the group's."))
    peer = ChatPersonSerializer(read_only=True, allow_null=True, help_text=_("A one-to-one's other person."))
    peer_online = serializers.SerializerMethodField(help_text=_("Whether the other person is online on any device."))
    peer_read_seq = serializers.SerializerMethodField(
        help_text=_("How far the other person has read (your messages up to this seq show 已读).")
    )
    last_seq = serializers.IntegerField(source="conversation.last_seq", read_only=True)
    read_seq = serializers.IntegerField(read_only=True, help_text=_("How far you have read."))
    unread = serializers.IntegerField(read_only=True, help_text=_("Messages after your read position."))
    last_message = serializers.SerializerMethodField(help_text=_("The newest message, null before the first."))
    last_message_at = serializers.DateTimeField(source="conversation.last_message_at", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(source="conversation.created_at", read_only=True)

    def get_name(self, membership) -> str:
        peer = getattr(membership, "peer", None)
        return membership.conversation.name or (peer.name if peer is not None else "")

    def get_peer_online(self, membership) -> bool:
        online = self.context.get("online") or {}
        peer = getattr(membership, "peer", None)
        return bool(peer is not None and online.get(peer.pk))

    def get_peer_read_seq(self, membership) -> int:
        return (self.context.get("peer_reads") or {}).get(membership.conversation_id, 0)

    @extend_schema_field(ChatMessageSerializer(allow_null=True))
    def get_last_message(self, membership):
        message = getattr(membership, "last_message", None)
        return events.message_data(message) if message is not None else None


class ChatHistorySerializer(serializers.Serializer):
    results = ChatMessageSerializer(many=True, read_only=True, help_text=_("Oldest first (search: newest first)."))
    has_more = serializers.BooleanField(read_only=True, help_text=_("More messages in the direction read."))
    last_seq = serializers.IntegerField(read_only=True, help_text=_("The conversation's newest seq."))
    read_seq = serializers.IntegerField(read_only=True, help_text=_("How far you have read."))
    peer_read_seq = serializers.IntegerField(read_only=True, help_text=_("How far the other person has read."))


class ChatReadStateSerializer(serializers.Serializer):
    conversation = serializers.IntegerField(read_only=True)
    read_seq = serializers.IntegerField(read_only=True)
    unread = serializers.IntegerField(read_only=True)
    total_unread = serializers.IntegerField(read_only=True, help_text=_("Across all your conversations."))


class ChatUnreadSerializer(serializers.Serializer):
    total = serializers.IntegerField(read_only=True, help_text=_("Unread messages across all your conversations."))


class ChatBlockSerializer(serializers.Serializer):
    user = ChatPersonSerializer(source="blocked", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class ChatPresenceSerializer(serializers.Serializer):
    user = serializers.IntegerField(read_only=True)
    online = serializers.BooleanField(read_only=True)


class ChatPreferencesSerializer(StrictSerializer):
    font_size = serializers.IntegerField(
        min_value=FONT_SIZE_MIN,
        max_value=FONT_SIZE_MAX,
        help_text=_("字体大小: the chat window's font size in CSS pixels, 12–24 (default 14)."),
    )


# --- Inputs ----------------------------------------------------------------------------------------
class ChatStartSerializer(StrictSerializer):
    user = serializers.IntegerField(
        min_value=1, max_value=ID_MAX, help_text=_("The other person (a user id from the directory or the org tree).")
    )


class ChatSendSerializer(StrictSerializer):
    text = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=TEXT_MAX,
        help_text=_("The text (emoji welcome), at most 5000 characters. Leave out when sending a file."),
    )
    file = serializers.FileField(
        required=False,
        help_text=_(
            "An image (jpg, png, gif, webp, bmp: shown with a thumbnail) or a file (pdf, Office, txt, csv, zip, rar, "
            "7z), at most 20 MB, checked by content. Send as multipart/form-data."
        ),
    )
    client_id = serializers.CharField(
        required=False,
        allow_blank=False,
        max_length=CLIENT_ID_MAX,
        help_text=_(
            "Your own id for this message (a UUID). Sending again with the same id returns the stored message "
            "(200) instead of a second one. The Idempotency-Key header does the same when this is left out."
        ),
    )


class ChatHistoryQuerySerializer(StrictSerializer):
    before = serializers.IntegerField(
        required=False, min_value=1, max_value=ID_MAX, help_text=_("Page backwards: the messages before this seq.")
    )
    after = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=ID_MAX,
        help_text=_("Fetch forwards: the messages after this seq (catch up after a reconnect)."),
    )
    date = serializers.DateField(required=False, help_text=_("Jump to a date: from that day's first message on."))
    q = serializers.CharField(
        required=False,
        max_length=SEARCH_MAX,
        help_text=_("Search this conversation's history for every word (Chinese too); newest first."),
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=HISTORY_PAGE_MAX,
        help_text=_("Messages per page (default %(page)d).") % {"page": HISTORY_PAGE},
    )

    def validate_q(self, value: str) -> str:
        if not has_words(value):
            raise serializers.ValidationError(NO_SEARCH_WORDS)
        return value

    def validate(self, attrs):
        modes = [name for name in ("before", "after", "date", "q") if name in attrs]
        if len(modes) > 1 and set(modes) != {"after", "date"}:
            raise serializers.ValidationError({modes[1]: [_("Use one of before, after, date or q at a time.")]})
        return attrs


class ChatFileQuerySerializer(StrictSerializer):
    variant = serializers.ChoiceField(
        choices=[("original", "original"), ("thumbnail", "thumbnail")],
        required=False,
        help_text=_("original (default) or thumbnail (images only)."),
    )


class ChatReadSerializer(StrictSerializer):
    seq = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=ID_MAX,
        help_text=_("Read up to this seq; leave out for the newest. A read position never moves back."),
    )


class ChatEmptySerializer(StrictSerializer):
    pass


class ChatBlockInputSerializer(StrictSerializer):
    user = serializers.IntegerField(min_value=1, max_value=ID_MAX, help_text=_("The person to block (拒收)."))


class ChatPresenceQuerySerializer(StrictSerializer):
    users = serializers.CharField(
        max_length=2000, help_text=_("Comma-separated user ids, at most 200 (e.g. your conversation partners).")
    )

    def validate_users(self, value: str) -> list[int]:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if (
            not parts
            or len(parts) > 200
            or not all(part.isascii() and part.isdigit() and len(part) < 19 for part in parts)
        ):
            raise serializers.ValidationError(_("Send 1 to 200 user ids separated by commas."))
        return [int(part) for part in parts]


def presence_rows(user_ids: list[int]) -> list[dict]:
    online = presence.online(user_ids)
    return [{"user": uid, "online": online.get(uid, False)} for uid in user_ids]
