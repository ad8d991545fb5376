"""Knowledge base (知识库, manual 2.4.6; seeds 001, 003, 004 step 6): typical problems written up as
cases with the problem, the troubleshooting steps and the solution, reviewed before publication and
scoped to the whole country or to one unit's subtree.

Workflows live in knowledge/services/; this module holds data and its invariants.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from helpdesk.core.files import private_storage
from orgtree.models import OrgUnit

TITLE_MAX = 200
# A body field's Markdown source; the rendered HTML is kept beside it, sanitised on save.
BODY_MAX = 20000
REASON_MAX = 500


class Category(models.Model):
    """A node of the category tree (a parent link: the tree is small and edited by a few people)."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("knowledge category")
        verbose_name_plural = _("knowledge categories")
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="knowledge_category_unique_name"),
            # Two roots with the same name: the constraint above ignores NULL parents.
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(parent__isnull=True), name="knowledge_category_unique_root"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("knowledge tag")
        verbose_name_plural = _("knowledge tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ArticleState(models.TextChoices):
    DRAFT = "draft", _("Draft")  # 草稿
    PENDING_REVIEW = "pending_review", _("Pending review")  # 待审核
    PUBLISHED = "published", _("Published")  # 已发布
    ARCHIVED = "archived", _("Archived")  # 已归档


class Article(models.Model):
    """One knowledge article. The Markdown source of each body field is kept with its sanitised HTML,
    rendered once on save (``helpdesk.core.markdown``): pages show the HTML as it is."""

    title = models.CharField(_("title"), max_length=TITLE_MAX)
    problem = models.TextField(_("problem"), max_length=BODY_MAX)
    steps = models.TextField(_("troubleshooting steps"), max_length=BODY_MAX, blank=True, default="")
    solution = models.TextField(_("solution"), max_length=BODY_MAX)
    problem_html = models.TextField(blank=True, default="", editable=False)
    steps_html = models.TextField(blank=True, default="", editable=False)
    solution_html = models.TextField(blank=True, default="", editable=False)

    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, null=True, blank=True, related_name="articles"
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="articles")
    # Ticket type values (tickets.models.TicketType; the apps do not import each other), a list.
    ticket_types = models.JSONField(_("related ticket types"), default=list, blank=True)

    # Who may read it once published: everyone (null: national) or one unit and everything below.
    scope_unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("scope"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The scope unit's path, copied so readers' filters need no join ("" for national).
    scope_path = models.CharField(max_length=255, blank=True, default="", editable=False)

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )
    # The unit that owns the article: its reviewers approve it, its staff edit it.
    unit = models.ForeignKey(OrgUnit, verbose_name=_("owning unit"), on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=255, editable=False)

    state = models.CharField(_("state"), max_length=16, choices=ArticleState.choices, default=ArticleState.DRAFT)
    # The number of the version whose text the article shows (ArticleVersion.number); 0 before the
    # first save. A pending revision of a published article has a higher number and is not this one.
    version = models.PositiveIntegerField(_("version"), default=0)
    # An edit of a published article waiting for review (有待审核的修改): readers, the search and the
    # suggestions keep the published text above until a reviewer approves it. One at a time: a
    # newer edit supersedes it.
    pending_revision = models.ForeignKey(
        "ArticleVersion",
        verbose_name=_("pending revision"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    views = models.PositiveIntegerField(_("views"), default=0)
    helpful_count = models.PositiveIntegerField(_("helpful"), default=0)
    not_helpful_count = models.PositiveIntegerField(_("not helpful"), default=0)

    source_ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("source ticket"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="knowledge_articles",
    )

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    # Every write moves it: delta sync (updated_after) reads the rows changed since a moment.
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("knowledge article")
        verbose_name_plural = _("knowledge articles")
        indexes = [
            models.Index(fields=["state", "-published_at", "-id"], name="kb_article_newest"),
            models.Index(fields=["state", "-views", "-id"], name="kb_article_most_viewed"),
            models.Index(fields=["state", "-helpful_count", "-id"], name="kb_article_most_helpful"),
            models.Index(fields=["updated_at", "id"], name="kb_article_updated"),
            models.Index(fields=["scope_path"], name="kb_article_scope_path", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["unit_path", "state"], name="kb_article_unit_path"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="published") | models.Q(published_at__isnull=False),
                name="kb_article_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class VersionStatus(models.TextChoices):
    SAVED = "saved", _("Saved")  # a draft's save, applied at once (nothing published to protect)
    PENDING = "pending", _("Waiting for review")  # 待审核的修改 of a published article
    APPROVED = "approved", _("Approved")  # a revision that became the published text
    REJECTED = "rejected", _("Rejected")  # a revision a reviewer refused; the published text stayed
    SUPERSEDED = "superseded", _("Superseded")  # a pending revision replaced by a newer edit


class ArticleVersion(models.Model):
    """A snapshot of the article's text as saved; every one is kept (who, when), viewable as a diff
    against the one before and restorable. An edit of a published article is a version that waits
    for review (``status`` pending) and becomes the article's text only when a reviewer approves it."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    problem = models.TextField(_("problem"))
    steps = models.TextField(_("troubleshooting steps"), blank=True, default="")
    solution = models.TextField(_("solution"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("edited by"), on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("note"), max_length=REASON_MAX, blank=True, default="")
    created_at = models.DateTimeField(_("saved at"), auto_now_add=True)
    status = models.CharField(_("status"), max_length=16, choices=VersionStatus.choices, default=VersionStatus.SAVED)
    # What the version sets besides the text (category id, tag names, ticket types, scope unit id):
    # a revision of a published article carries them to its approval. Null on versions saved before
    # it was recorded (their text alone is restorable).
    meta = models.JSONField(null=True, blank=True, editable=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    review_reason = models.CharField(_("reason"), max_length=REASON_MAX, blank=True, default="")

    class Meta:
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        ordering = ["article", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="kb_version_unique_number"),
            # At most one revision of an article waits for review (Article.pending_revision).
            models.UniqueConstraint(
                fields=["article"], condition=models.Q(status="pending"), name="kb_version_one_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"


class ArticleVote(models.Model):
    """One reader's 有帮助 / 没帮助 on one article; voting again changes the vote."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    helpful = models.BooleanField(_("helpful"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("article vote")
        verbose_name_plural = _("article votes")
        constraints = [models.UniqueConstraint(fields=["article", "user"], name="kb_vote_unique_user")]

    def __str__(self) -> str:
        return f"{self.article_id} {self.user_id} {'+' if self.helpful else '-'}"


def attachment_path(instance: ArticleAttachment, filename: str) -> str:
    # The stored name is ours, never the uploader's: a random name keeps paths unguessable and safe.
    return f"knowledge/{instance.article_id}/{uuid.uuid4().hex}"


class ArticleAttachment(models.Model):
    """A file on an article, in private storage, served only to those who may read the article."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=attachment_path, storage=private_storage, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("article attachment")
        verbose_name_plural = _("article attachments")
        indexes = [models.Index(fields=["article", "id"], name="kb_attachment_list")]

    def __str__(self) -> str:
        return self.original_name


class ReviewDecision(models.TextChoices):
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ArticleReview(models.Model):
    """A reviewer's decision on a submitted article (the reason is required for a rejection)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewer"), on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(_("version"))
    decision = models.CharField(_("decision"), max_length=16, choices=ReviewDecision.choices)
    reason = models.CharField(_("reason"), max_length=REASON_MAX, blank=True, default="")
    created_at = models.DateTimeField(_("reviewed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("article review")
        verbose_name_plural = _("article reviews")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.version} {self.decision}"


# --- Search index (knowledge/search.py) ------------------------------------------------------------
# Written only by knowledge.search (index_article / remove_article, in the publishing transaction).


class ArticleSearchTerm(models.Model):
    """The inverted index: one row per term of a published article, with how often it occurs in the
    title and in the body. The article's field lengths ride along so that scoring a term's postings
    reads this table alone (on PostgreSQL an index-only scan of a covering index on the term)."""

    pk = models.CompositePrimaryKey("article", "term")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+", db_index=False)
    term = models.CharField(max_length=32)
    tf_title = models.PositiveSmallIntegerField(default=0)
    tf_body = models.PositiveSmallIntegerField(default=0)
    title_len = models.PositiveSmallIntegerField(default=0)
    body_len = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.article_id} {self.term}"


class ArticleSearchDoc(models.Model):
    """That an article is in the index, at which version, and its field lengths in terms. The catch-up
    task compares it with the articles to find what a lost write left behind."""

    article = models.OneToOneField(Article, on_delete=models.CASCADE, primary_key=True, related_name="+")
    version = models.PositiveIntegerField(default=0)
    title_len = models.PositiveIntegerField(default=0)
    body_len = models.PositiveIntegerField(default=0)
    indexed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.article_id} v{self.version}"


class ArticleSearchTermStat(models.Model):
    """In how many indexed articles a term occurs (BM25's document frequency)."""

    term = models.CharField(max_length=32, primary_key=True)
    documents = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.term} {self.documents}"


class ArticleSearchStats(models.Model):
    """The whole index's counts (one row, id 1): articles, and total title and body lengths for BM25's
    average lengths. Row-locked by every index change, so concurrent publishes count correctly."""

    documents = models.PositiveIntegerField(default=0)
    title_terms = models.PositiveBigIntegerField(default=0)
    body_terms = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.documents} articles"


class SelfSolved(models.Model):
    """ "这解决了我的问题": a reader closed their question with a suggested article instead of filing a
    ticket. Counted per article and per unit in the reports (the deflection rate)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="self_solved")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The reader's unit when it happened (reports count by unit, and a user may move later).
    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    question = models.CharField(_("question"), max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("question solved by an article")
        verbose_name_plural = _("questions solved by articles")
        indexes = [models.Index(fields=["unit", "created_at"], name="kb_self_solved_unit")]

    def __str__(self) -> str:
        return f"{self.article_id} {self.user_id}"
