"""The notices API's shapes: strict inputs (unknown fields refused) and read-only outputs."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from helpdesk.core.api.delta import UpdatedAfterField
from helpdesk.core.api.serializers import StrictSerializer
from helpdesk.core.search import NO_SEARCH_WORDS, has_words
from orgtree.models import OrgLevel

from ..models import BODY_MAX, NOTE_MAX, TITLE_MAX, AudienceKind, AudienceMode, Importance, NoticeState
from ..services.writing import MAX_CHOSEN_UNITS

ID_MAX = 2**63 - 1
SEARCH_MAX = 100
STATE_HELP = "draft, pending_review, rejected, scheduled, published or withdrawn."


class NoticeUnitRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class NoticeListSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    importance = serializers.CharField(read_only=True, help_text="normal (普通), important (重要) or urgent (紧急).")
    # A plain string in the schema: a second "state" enum would rename the tickets' StateEnum.
    state = serializers.CharField(read_only=True, help_text=STATE_HELP)
    unit = NoticeUnitRefSerializer(read_only=True, help_text=_("The publishing unit."))
    receipt_required = serializers.BooleanField(read_only=True)
    valid_from = serializers.DateTimeField(read_only=True, allow_null=True)
    valid_until = serializers.DateTimeField(read_only=True, allow_null=True)
    publish_at = serializers.DateTimeField(read_only=True, allow_null=True)
    published_at = serializers.DateTimeField(read_only=True, allow_null=True)
    withdrawn_at = serializers.DateTimeField(read_only=True, allow_null=True)
    forwarded = serializers.SerializerMethodField(help_text=_("Republished by a unit from a notice it received."))
    is_read = serializers.SerializerMethodField(help_text=_("Received lists: whether you have read it."))
    is_confirmed = serializers.SerializerMethodField(help_text=_("Received lists: whether you confirmed receipt."))
    reminded = serializers.SerializerMethodField(
        help_text=_("催阅: the publisher asked for it to be read and you have not read (or confirmed) it yet.")
    )
    updated_at = serializers.DateTimeField(read_only=True)

    def get_forwarded(self, notice) -> bool:
        return notice.forwarded_from_id is not None

    def get_is_read(self, notice) -> bool | None:
        return getattr(notice, "is_read", None)

    def get_is_confirmed(self, notice) -> bool | None:
        return getattr(notice, "is_confirmed", None)

    def get_reminded(self, notice) -> bool:
        if notice.reminded_at is None or not hasattr(notice, "is_read"):
            return False
        done = notice.is_confirmed if notice.receipt_required else notice.is_read
        return notice.state == NoticeState.PUBLISHED and not done


class NoticeAttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="original_name", read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    inherited = serializers.SerializerMethodField(help_text=_("A file of the original notice a forward carries."))
    created_at = serializers.DateTimeField(read_only=True)

    def get_inherited(self, attachment) -> bool:
        notice = self.context.get("notice")
        return notice is not None and attachment.notice_id != notice.pk


class NoticeAudienceSerializer(serializers.Serializer):
    mode = serializers.CharField(source="audience_mode", read_only=True, help_text="unit, units, subtree or levels.")
    units = serializers.SerializerMethodField()
    chosen_with_subtrees = serializers.BooleanField(read_only=True)
    levels = serializers.ListField(source="audience_levels", child=serializers.IntegerField(), read_only=True)
    kinds = serializers.ListField(source="audience_kinds", child=serializers.CharField(), read_only=True)

    @extend_schema_field(NoticeUnitRefSerializer(many=True))
    def get_units(self, notice):
        return NoticeUnitRefSerializer(notice.chosen_units.order_by("path"), many=True).data


class NoticeReceiptSerializer(serializers.Serializer):
    read_at = serializers.DateTimeField(read_only=True)
    confirmed_at = serializers.DateTimeField(read_only=True, allow_null=True)


class NoticeForwardRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    unit = NoticeUnitRefSerializer(read_only=True)


class NoticeDetailSerializer(NoticeListSerializer):
    body = serializers.CharField(read_only=True, help_text=_("Markdown source."))
    body_html = serializers.CharField(read_only=True, help_text=_("Sanitised HTML, safe to show as it is."))
    cover_note = serializers.CharField(read_only=True, help_text=_("A forward's cover note (Markdown)."))
    cover_note_html = serializers.CharField(read_only=True)
    author = serializers.CharField(source="author.name", read_only=True)
    audience = serializers.SerializerMethodField()
    withdraw_reason = serializers.CharField(read_only=True)
    forwarded_from = serializers.SerializerMethodField(
        help_text=_("The notice this one republishes, if you may see it.")
    )
    reminded_at = serializers.DateTimeField(read_only=True, allow_null=True)
    reminder_count = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    submitted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    attachments = serializers.SerializerMethodField()
    my_receipt = serializers.SerializerMethodField(help_text=_("Your read receipt; null before you read it."))
    capabilities = serializers.SerializerMethodField(
        help_text=_("What you may do: edit, submit, approve, reject, withdraw, remind, read, confirm, forward, stats …")
    )
    forward_units = serializers.SerializerMethodField(help_text=_("Units of yours that may forward it."))

    @extend_schema_field(NoticeAudienceSerializer)
    def get_audience(self, notice):
        return NoticeAudienceSerializer(notice).data

    @extend_schema_field(NoticeForwardRefSerializer(allow_null=True))
    def get_forwarded_from(self, notice):
        source = self.context.get("forwarded_from")
        return NoticeForwardRefSerializer(source).data if source is not None else None

    @extend_schema_field(NoticeAttachmentSerializer(many=True))
    def get_attachments(self, notice):
        return NoticeAttachmentSerializer(
            self.context.get("attachments", []), many=True, context={"notice": notice}
        ).data

    @extend_schema_field(NoticeReceiptSerializer(allow_null=True))
    def get_my_receipt(self, notice):
        receipt = self.context.get("receipt")
        return NoticeReceiptSerializer(receipt).data if receipt is not None else None

    def get_capabilities(self, notice) -> list[str]:
        return sorted(self.context.get("capabilities", ()))

    @extend_schema_field(NoticeUnitRefSerializer(many=True))
    def get_forward_units(self, notice):
        return NoticeUnitRefSerializer(self.context.get("forward_units", []), many=True).data


class NoticeEventSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    action = serializers.CharField(
        read_only=True,
        help_text="created, edited, submitted, approved, rejected, scheduled, published, withdrawn, forwarded, "
        "reminded, attached or detached.",
    )
    actor = serializers.SerializerMethodField(help_text=_("Null for the scheduler's own steps."))
    note = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    def get_actor(self, event) -> str | None:
        return event.actor.name if event.actor_id and event.actor else None


# --- Input ------------------------------------------------------------------------------------------
def _datetime(**kwargs):
    return serializers.DateTimeField(required=False, allow_null=True, **kwargs)


class _AudienceFields(StrictSerializer):
    importance = serializers.ChoiceField(choices=Importance.choices, required=False)
    valid_from = _datetime(help_text=_("Start of the validity period (optional)."))
    valid_until = _datetime(help_text=_("End of the validity period (optional)."))
    receipt_required = serializers.BooleanField(required=False)
    audience_mode = serializers.ChoiceField(
        choices=AudienceMode.choices,
        required=False,
        help_text="unit: your unit; units: the units in audience_units; subtree: your unit and every unit below; "
        "levels: the units of audience_levels in your subtree.",
    )
    audience_units = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=ID_MAX),
        max_length=MAX_CHOSEN_UNITS,
        required=False,
        help_text=_("Ids of units in your subtree (audience_mode units)."),
    )
    chosen_with_subtrees = serializers.BooleanField(
        required=False, help_text=_("audience_mode units: the chosen units with every unit below them.")
    )
    audience_levels = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=max(OrgLevel.values)),
        max_length=len(OrgLevel.values),
        required=False,
        help_text="audience_mode levels: 0 central, 1 province, 2 prefecture, 3 county, 4 school.",
    )
    audience_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=AudienceKind.choices),
        max_length=len(AudienceKind.values),
        required=False,
        help_text=_("Only these roles or user types (empty: everyone in the audience)."),
    )
    publish_at = _datetime(help_text=_("Publish at this time once approved (empty: on approval)."))


class NoticeWriteSerializer(_AudienceFields):
    unit = serializers.IntegerField(
        min_value=1,
        max_value=ID_MAX,
        required=False,
        help_text=_("The publishing unit, where you are a notice publisher (on create; default: your first)."),
    )
    title = serializers.CharField(max_length=TITLE_MAX)
    body = serializers.CharField(max_length=BODY_MAX, help_text=_("Markdown."))


class NoticeForwardSerializer(_AudienceFields):
    unit = serializers.IntegerField(
        min_value=1,
        max_value=ID_MAX,
        required=False,
        help_text=_("Your unit that republishes it (default: the first that may)."),
    )
    cover_note = serializers.CharField(max_length=BODY_MAX, help_text=_("The cover note (Markdown)."))


class NoticeReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True, default="")


class NoticeNoteSerializer(StrictSerializer):
    note = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True, default="")


class NoticeEmptySerializer(StrictSerializer):
    pass


class NoticeUploadSerializer(StrictSerializer):
    file = serializers.FileField()


class NoticeQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=SEARCH_MAX, required=False, help_text=_("Words (Chinese too)."))
    unit = serializers.IntegerField(
        min_value=1, max_value=ID_MAX, required=False, help_text=_("Publishing unit and its subtree.")
    )
    published_after = serializers.DateTimeField(required=False)
    published_before = serializers.DateTimeField(required=False)
    importance = serializers.ChoiceField(choices=Importance.choices, required=False)
    notice_state = serializers.ChoiceField(choices=NoticeState.choices, required=False)

    def validate_q(self, value: str) -> str:
        if not has_words(value):
            raise serializers.ValidationError(NO_SEARCH_WORDS)
        return value

    def validate(self, attrs):
        after, before = attrs.get("published_after"), attrs.get("published_before")
        if after and before and before <= after:
            raise serializers.ValidationError(
                {"published_before": [_("The end of the period must come after its start.")]}
            )
        return attrs


class SentQuerySerializer(NoticeQuerySerializer):
    updated_after = UpdatedAfterField()


class InboxQuerySerializer(NoticeQuerySerializer):
    read = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text=_("true read, false unread.")
    )
    updated_after = UpdatedAfterField()


class NoticeUnreadCountSerializer(serializers.Serializer):
    unread = serializers.IntegerField(read_only=True)


# --- Statistics -------------------------------------------------------------------------------------
class StatRowSerializer(serializers.Serializer):
    unit = NoticeUnitRefSerializer(read_only=True)
    level = serializers.IntegerField(read_only=True, allow_null=True)
    audience = serializers.IntegerField(read_only=True, help_text=_("People of the audience in this unit and below."))
    read = serializers.IntegerField(read_only=True)
    confirmed = serializers.IntegerField(read_only=True)
    read_rate = serializers.FloatField(read_only=True, help_text=_("read / audience, 0 to 1."))
    confirm_rate = serializers.FloatField(read_only=True)
    has_children = serializers.BooleanField(read_only=True)


class StatsSerializer(serializers.Serializer):
    unit = StatRowSerializer(read_only=True, allow_null=True, help_text=_("The unit drilled into (its subtree)."))
    children = StatRowSerializer(many=True, read_only=True, help_text=_("Its units one level down."))
    computed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    stale = serializers.BooleanField(read_only=True, help_text=_("Reads since; a recount is queued."))
    read_total = serializers.IntegerField(read_only=True, help_text=_("Everyone who has read it, counted now."))
    confirmed_total = serializers.IntegerField(read_only=True)


class StatsQuerySerializer(serializers.Serializer):
    unit = serializers.IntegerField(
        min_value=1,
        max_value=ID_MAX,
        required=False,
        help_text=_("Drill into this unit (default: the publishing unit)."),
    )


class PendingUnitsQuerySerializer(StatsQuerySerializer):
    level = serializers.IntegerField(
        min_value=0, max_value=max(OrgLevel.values), required=False, help_text=_("Only units of this level.")
    )


class PendingUserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    unit = serializers.CharField(source="unit_name", read_only=True)
    read = serializers.BooleanField(read_only=True, help_text=_("Read but not confirmed (receipt notices)."))


class PendingUsersQuerySerializer(serializers.Serializer):
    unit = serializers.IntegerField(min_value=1, max_value=ID_MAX, help_text=_("The unit whose people are listed."))


class StatsExportQuerySerializer(StatsQuerySerializer):
    export_format = serializers.ChoiceField(choices=[("csv", "csv"), ("xlsx", "xlsx")], required=False, default="csv")
