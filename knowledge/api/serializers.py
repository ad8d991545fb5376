"""The knowledge API's shapes: strict inputs (unknown fields refused) and read-only outputs."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from helpdesk.core.api.delta import UpdatedAfterField
from helpdesk.core.api.serializers import StrictSerializer
from helpdesk.core.search import NO_SEARCH_WORDS, has_words

from ..models import BODY_MAX, REASON_MAX, TITLE_MAX, ArticleState
from ..selectors import SORTS
from ..services.articles import MAX_TAGS, TAG_MAX

SEARCH_MAX = 100
STATE_HELP = "draft, pending_review, published or archived."
ID_MAX = 2**63 - 1


class KBCategorySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    parent = serializers.IntegerField(source="parent_id", read_only=True, allow_null=True)
    order = serializers.IntegerField(read_only=True)


class KBUnitRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class ArticleListSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    # A plain string in the schema: a second "state" enum would rename the tickets' StateEnum.
    state = serializers.CharField(read_only=True, help_text=STATE_HELP)
    category = serializers.IntegerField(source="category_id", read_only=True, allow_null=True)
    category_name = serializers.SerializerMethodField()
    unit = KBUnitRefSerializer(read_only=True, help_text=_("The owning unit."))
    scope_unit = KBUnitRefSerializer(read_only=True, allow_null=True, help_text=_("Null: national."))
    views = serializers.IntegerField(read_only=True)
    helpful_count = serializers.IntegerField(read_only=True)
    not_helpful_count = serializers.IntegerField(read_only=True)
    published_at = serializers.DateTimeField(read_only=True, allow_null=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_category_name(self, article) -> str | None:
        return article.category.name if article.category_id else None


class KBSearchHitSerializer(ArticleListSerializer):
    score = serializers.FloatField(read_only=True)
    title_html = serializers.CharField(read_only=True, help_text=_("The title, escaped, matched words in <mark>."))
    snippet_html = serializers.CharField(read_only=True, help_text=_("A passage, escaped, matched words in <mark>."))


VERSION_STATUS_HELP = (
    "saved (a draft's save), pending (an edit of the published article waiting for review), approved "
    "(became the published text), rejected (refused; review_reason says why), superseded (replaced by a "
    "newer edit before review)."
)


class KBVersionSerializer(serializers.Serializer):
    number = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    author = serializers.CharField(source="author.name", read_only=True)
    note = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    # Plain strings in the schema, like the article's state (no second enum named "Status").
    status = serializers.CharField(read_only=True, help_text=VERSION_STATUS_HELP)
    reviewed_by = serializers.CharField(source="reviewed_by.name", read_only=True, allow_null=True, default=None)
    reviewed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    review_reason = serializers.CharField(read_only=True)


class KBVersionDetailSerializer(KBVersionSerializer):
    problem = serializers.CharField(read_only=True)
    steps = serializers.CharField(read_only=True)
    solution = serializers.CharField(read_only=True)
    diff = serializers.SerializerMethodField(help_text=_("HTML tables of the changes against the version before."))

    def get_diff(self, version) -> list[dict]:
        return [{"field": label, "html": table} for label, table in self.context.get("diff", [])]


class KBDuplicateSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="article.id", read_only=True)
    title = serializers.CharField(source="article.title", read_only=True)
    similarity = serializers.FloatField(
        read_only=True, help_text=_("Its search score for this text over the text's own (1.0: says the same).")
    )


class KBReviewSerializer(serializers.Serializer):
    reviewer = serializers.CharField(source="reviewer.name", read_only=True)
    version = serializers.IntegerField(read_only=True)
    decision = serializers.CharField(read_only=True)
    reason = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class KBAttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(source="original_name", read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class KBSourceTicketSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)


class ArticleDetailSerializer(ArticleListSerializer):
    problem = serializers.CharField(read_only=True, help_text=_("Markdown source."))
    steps = serializers.CharField(read_only=True)
    solution = serializers.CharField(read_only=True)
    problem_html = serializers.CharField(read_only=True, help_text=_("Sanitised HTML, safe to show as it is."))
    steps_html = serializers.CharField(read_only=True)
    solution_html = serializers.CharField(read_only=True)
    tags = serializers.SerializerMethodField()
    ticket_types = serializers.ListField(child=serializers.CharField(), read_only=True)
    author = serializers.CharField(source="author.name", read_only=True)
    version = serializers.IntegerField(read_only=True)
    source_ticket = serializers.SerializerMethodField(
        help_text=_("The ticket it was made from, when you may open it; otherwise null.")
    )
    my_vote = serializers.SerializerMethodField(help_text=_("true helpful, false not helpful, null not voted."))
    capabilities = serializers.SerializerMethodField(
        help_text=_("What you may do: edit, submit, review, review_revision, archive …")
    )
    pending_revision = serializers.SerializerMethodField(
        help_text=_(
            "The edit waiting for review (its editors and reviewers only; null for readers, who see the "
            "published text): approve or reject it by its number."
        )
    )
    last_review = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()
    possible_duplicates = serializers.SerializerMethodField(
        help_text=_(
            "可能重复: for its editors and reviewers while it (or an edit of it) waits for review, the "
            "published articles most like its text; empty otherwise."
        )
    )

    def get_tags(self, article) -> list[str]:
        return [tag.name for tag in article.tags.all()]

    def get_source_ticket(self, article) -> dict | None:
        ticket = self.context.get("source_ticket")
        return KBSourceTicketSerializer(ticket).data if ticket else None

    def get_my_vote(self, article) -> bool | None:
        return self.context.get("my_vote")

    def get_capabilities(self, article) -> list[str]:
        return sorted(self.context.get("capabilities", ()))

    @extend_schema_field(KBVersionSerializer(allow_null=True))
    def get_pending_revision(self, article):
        version = self.context.get("pending_revision")
        return KBVersionSerializer(version).data if version is not None else None

    @extend_schema_field(KBDuplicateSerializer(many=True))
    def get_possible_duplicates(self, article):
        return KBDuplicateSerializer(self.context.get("possible_duplicates", []), many=True).data

    def get_last_review(self, article) -> dict | None:
        review = self.context.get("last_review")
        return KBReviewSerializer(review).data if review else None

    def get_attachments(self, article) -> list[dict]:
        return KBAttachmentSerializer(article.attachments.order_by("id"), many=True).data


class ArticleWriteSerializer(StrictSerializer):
    title = serializers.CharField(max_length=TITLE_MAX)
    problem = serializers.CharField(max_length=BODY_MAX)
    steps = serializers.CharField(max_length=BODY_MAX, required=False, allow_blank=True, default="")
    solution = serializers.CharField(max_length=BODY_MAX)
    category = serializers.IntegerField(min_value=1, max_value=ID_MAX, required=False, allow_null=True)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=TAG_MAX), max_length=MAX_TAGS, required=False, default=list
    )
    ticket_types = serializers.ListField(child=serializers.CharField(max_length=32), required=False, default=list)
    scope_unit = serializers.IntegerField(
        min_value=1, max_value=ID_MAX, required=False, allow_null=True, help_text=_("Null or absent: national.")
    )
    unit = serializers.IntegerField(
        min_value=1, max_value=ID_MAX, required=False, help_text=_("The owning unit (on create; default: your first).")
    )
    note = serializers.CharField(max_length=REASON_MAX, required=False, allow_blank=True, default="")


class ArticleFromTicketSerializer(StrictSerializer):
    ticket = serializers.IntegerField(min_value=1, max_value=ID_MAX)


class KBReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=REASON_MAX, required=False, allow_blank=True, default="")


class KBRevisionReviewSerializer(StrictSerializer):
    version = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, help_text=_("The pending revision's number (the one you read).")
    )
    reason = serializers.CharField(
        max_length=REASON_MAX, required=False, allow_blank=True, default="", help_text=_("Required to reject.")
    )


class KBReviewQueueSerializer(ArticleListSerializer):
    review_kind = serializers.SerializerMethodField(
        help_text=_("new: a new article waiting for publication; revision: an edit of a published article.")
    )
    pending_revision = serializers.SerializerMethodField()
    submitted_by = serializers.SerializerMethodField()
    submitted_at = serializers.DateTimeField(read_only=True)

    def _is_revision(self, article) -> bool:
        return article.state == ArticleState.PUBLISHED and article.pending_revision_id is not None

    def get_review_kind(self, article) -> str:
        return "revision" if self._is_revision(article) else "new"

    def get_pending_revision(self, article) -> int | None:
        return article.pending_revision.number if self._is_revision(article) else None

    def get_submitted_by(self, article) -> str:
        return article.pending_revision.author.name if self._is_revision(article) else article.author.name


class KBVoteSerializer(StrictSerializer):
    helpful = serializers.BooleanField()


class KBRestoreSerializer(StrictSerializer):
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


class KBAttachmentUploadSerializer(StrictSerializer):
    file = serializers.FileField()


class KBEmptySerializer(StrictSerializer):
    pass


class ArticleQuerySerializer(StrictSerializer):
    search = serializers.CharField(
        max_length=SEARCH_MAX, required=False, help_text=_("Words (Chinese too): the best matches first.")
    )
    sort = serializers.ChoiceField(choices=[(key, key) for key in SORTS], required=False)
    category = serializers.IntegerField(
        min_value=1, max_value=ID_MAX, required=False, help_text=_("With subcategories.")
    )
    tag = serializers.CharField(max_length=TAG_MAX, required=False)
    unit = serializers.IntegerField(
        min_value=1, max_value=ID_MAX, required=False, help_text=_("Owning unit and its subtree.")
    )
    article_state = serializers.ChoiceField(
        choices=ArticleState.choices,
        required=False,
        help_text=_("Articles you edit or review in this state (default: published articles you may read)."),
    )
    ticket = serializers.IntegerField(
        min_value=1,
        max_value=ID_MAX,
        required=False,
        help_text=_("Articles made from this ticket (收录为知识) that you may open, in any state you may see."),
    )
    updated_after = UpdatedAfterField()

    def validate_search(self, value: str) -> str:
        if not has_words(value):
            raise serializers.ValidationError(NO_SEARCH_WORDS)
        return value
