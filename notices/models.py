"""Notices (公告, manual 2.5): written by a unit's notice publisher for its own subtree, reviewed by the
unit's notice reviewer, published at once or at a set time, read in the recipients' inboxes with read
receipts, forwarded down the tree (分级发布), and counted per unit.

An audience is never a row per recipient. It is a handful of ``NoticeTarget`` rows (a unit path, with
or without its subtree, and bit masks of the levels and the role kinds it is limited to) that a
reader's own positions (its unit and the units of its roles, with their levels and kinds) are matched
against at read time. A user's ``NoticeRead`` row is written when they read. Per-unit figures are
``NoticeUnitStat`` rows a background task recomputes.

Workflows live in notices/services/; this module holds data and its invariants.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from helpdesk.core.files import private_storage
from orgtree.models import OrgUnit

TITLE_MAX = 200
BODY_MAX = 20000
NOTE_MAX = 500


class Importance(models.TextChoices):
    NORMAL = "normal", _("Normal")  # 普通
    IMPORTANT = "important", _("Important")  # 重要
    URGENT = "urgent", _("Urgent")  # 紧急


class NoticeState(models.TextChoices):
    DRAFT = "draft", _("Draft")  # 草稿
    PENDING_REVIEW = "pending_review", _("Pending review")  # 待审核
    REJECTED = "rejected", _("Returned")  # 已退回: the publisher revises and resubmits
    SCHEDULED = "scheduled", _("Scheduled")  # 待发布: approved, waits for its publishing time
    PUBLISHED = "published", _("Published")  # 已发布
    WITHDRAWN = "withdrawn", _("Withdrawn")  # 已撤回


# States a recipient sees a notice in (a withdrawn one stays in the inbox, marked withdrawn).
DELIVERED_STATES = (NoticeState.PUBLISHED, NoticeState.WITHDRAWN)
# States the publisher may still change the text in.
EDITABLE_STATES = (NoticeState.DRAFT, NoticeState.REJECTED)


class AudienceMode(models.TextChoices):
    UNIT = "unit", _("Own unit")  # 本单位
    UNITS = "units", _("Chosen units")  # 指定单位
    SUBTREE = "subtree", _("Whole subtree")  # 本单位及下级
    LEVELS = "levels", _("Subtree, chosen levels")  # 下级中的指定层级


class AudienceKind(models.TextChoices):
    """Who in a unit a notice may be limited to: holders of a role there, or users of a type whose
    own unit it is. The bit of each is its position here (``kind_bit``)."""

    UNIT_ADMIN = "unit_admin", _("Unit administrators")
    SUPPORT_AGENT = "support_agent", _("Support agents")
    ANSWER_REVIEWER = "answer_reviewer", _("Answer reviewers")
    NOTICE_PUBLISHER = "notice_publisher", _("Notice publishers")
    NOTICE_REVIEWER = "notice_reviewer", _("Notice reviewers")
    STAFF = "staff", _("Staff")
    TEACHER = "teacher", _("Teachers")
    STUDENT = "student", _("Students")
    PARENT = "parent", _("Parents")


_KIND_ORDER = {value: index for index, value in enumerate(AudienceKind.values)}


def kind_bit(kind: str) -> int:
    return 1 << _KIND_ORDER[kind]


def level_bit(level: int | None) -> int:
    # A unit without a level (none today) matches only audiences not limited by level.
    return 0 if level is None else 1 << int(level)


def mask_of(bits) -> int:
    mask = 0
    for bit in bits:
        mask |= bit
    return mask


class Notice(models.Model):
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    # Markdown source; the sanitised HTML beside it is rendered on save (helpdesk.core.markdown).
    body = models.TextField(_("body"), max_length=BODY_MAX)
    body_html = models.TextField(blank=True, default="", editable=False)
    importance = models.CharField(_("importance"), max_length=16, choices=Importance.choices, default=Importance.NORMAL)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    receipt_required = models.BooleanField(_("read receipt required"), default=False)

    # The publishing unit: its notice reviewer reviews, its subtree bounds the audience.
    unit = models.ForeignKey(OrgUnit, verbose_name=_("publishing unit"), on_delete=models.PROTECT, related_name="+")
    unit_path = models.CharField(max_length=255, editable=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )

    audience_mode = models.CharField(
        _("audience"), max_length=16, choices=AudienceMode.choices, default=AudienceMode.UNIT
    )
    # Levels (orgtree.models.OrgLevel values) for the "levels" mode, and role kinds (AudienceKind) for
    # any mode; empty: no limit. Their bit masks are copied onto the targets.
    audience_levels = models.JSONField(_("levels"), default=list, blank=True)
    audience_kinds = models.JSONField(_("roles"), default=list, blank=True)
    chosen_units = models.ManyToManyField(OrgUnit, verbose_name=_("chosen units"), blank=True, related_name="+")
    # "units" mode: the chosen units with everything below them, rather than the units alone.
    chosen_with_subtrees = models.BooleanField(_("with the units below them"), default=False)

    state = models.CharField(_("state"), max_length=16, choices=NoticeState.choices, default=NoticeState.DRAFT)
    # Requested publishing time (null: at approval).
    publish_at = models.DateTimeField(_("publish at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdraw_reason = models.CharField(_("withdrawal reason"), max_length=NOTE_MAX, blank=True, default="")

    # 分级发布: a unit republishing a notice it received, with its cover note. ``origin`` is the first
    # notice of the chain (whose text and attachments a forward carries).
    forwarded_from = models.ForeignKey(
        "self", verbose_name=_("forwarded from"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    origin = models.ForeignKey(
        "self", verbose_name=_("original notice"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cover_note = models.TextField(_("cover note"), max_length=BODY_MAX, blank=True, default="")
    cover_note_html = models.TextField(blank=True, default="", editable=False)

    # 催阅: the last reminder (at most one an hour) and how many were sent.
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    reminder_count = models.PositiveIntegerField(_("reminders"), default=0)

    # Set by a read, cleared by the statistics task when it recomputes (notices.services.stats).
    stats_stale = models.BooleanField(default=False, editable=False)
    stats_computed_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # Every change a recipient's copy shows moves it: the inbox's delta sync reads it.
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        indexes = [
            models.Index(fields=["updated_at", "id"], name="notice_updated"),
            # Sent notices of a unit (and its subtree, for superiors), newest first.
            models.Index(fields=["unit_path", "-id"], name="notice_unit_path"),
            models.Index(fields=["author", "-id"], name="notice_author"),
            # The review queue of a unit.
            models.Index(fields=["unit", "state"], name="notice_unit_state"),
            # The scheduled-publishing sweep: only the few waiting rows.
            models.Index(
                fields=["publish_at"], name="notice_scheduled", condition=models.Q(state=NoticeState.SCHEDULED)
            ),
            models.Index(fields=["stats_stale"], name="notice_stats_stale", condition=models.Q(stats_stale=True)),
            models.Index(fields=["-published_at", "-id"], name="notice_published"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state__in=DELIVERED_STATES) | models.Q(published_at__isnull=False),
                name="notice_delivered_has_date",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_from__isnull=True)
                | models.Q(valid_until__gt=models.F("valid_from")),
                name="notice_validity_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def content_notice(self) -> Notice:
        """The notice whose text and attachments this one carries (itself, or the forwarded original)."""
        return self.origin if self.origin_id else self


class NoticeTarget(models.Model):
    """One piece of a notice's audience: the unit at ``path`` (and its subtree when ``subtree``),
    limited to the levels in ``level_mask`` and the kinds in ``kind_mask`` (0: no limit).

    ``published_at`` is null until the notice is published: the inbox reads only published targets,
    through the index on (path, published_at), one range per ancestor of the reader's units.
    """

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="targets")
    path = models.CharField(max_length=255)
    subtree = models.BooleanField(default=False)
    level_mask = models.IntegerField(default=0)
    kind_mask = models.IntegerField(default=0)
    published_at = models.DateTimeField(null=True, blank=True)
    withdrawn = models.BooleanField(default=False)
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["path", "-published_at"],
                name="notice_target_inbox",
                include=["notice", "subtree", "level_mask", "kind_mask", "withdrawn", "valid_until"],
                condition=models.Q(published_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id} {self.path}{'*' if self.subtree else ''}"


class NoticeRead(models.Model):
    """A user read a notice (and confirmed receipt, where asked). The reader's unit at that moment is
    kept for the record; the statistics count readers by where they are now."""

    # Both served by the composite indexes below: no index of their own to keep on every read.
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="reads", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    unit = models.ForeignKey(OrgUnit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    read_at = models.DateTimeField(_("read at"))
    confirmed_at = models.DateTimeField(_("receipt confirmed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice read receipt")
        verbose_name_plural = _("notice read receipts")
        constraints = [
            # (user, notice): the unread count's anti-join reads one user's rows from this index.
            models.UniqueConstraint(fields=["user", "notice"], name="notice_read_unique"),
        ]
        indexes = [models.Index(fields=["notice", "user"], name="notice_read_notice")]

    def __str__(self) -> str:
        return f"{self.notice_id} {self.user_id}"


def attachment_path(instance: NoticeAttachment, filename: str) -> str:
    # The stored name is ours, never the uploader's.
    return f"notices/{instance.notice_id}/{uuid.uuid4().hex}"


class NoticeAttachment(models.Model):
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=attachment_path, storage=private_storage, max_length=200)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("notice attachment")
        verbose_name_plural = _("notice attachments")
        indexes = [models.Index(fields=["notice", "id"], name="notice_attachment_list")]

    def __str__(self) -> str:
        return self.original_name


class TimelineAction(models.TextChoices):
    CREATED = "created", _("Written")
    EDITED = "edited", _("Revised")
    SUBMITTED = "submitted", _("Submitted for review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Returned")
    SCHEDULED = "scheduled", _("Scheduled")
    PUBLISHED = "published", _("Published")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    FORWARDED = "forwarded", _("Forwarded")
    REMINDED = "reminded", _("Reminder sent")
    ATTACHED = "attached", _("File added")
    DETACHED = "detached", _("File removed")


class NoticeEvent(models.Model):
    """One step of a notice's timeline: who did what, when, with which note."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="timeline")
    # Null for the scheduler's own steps (a scheduled publication).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(_("action"), max_length=16, choices=TimelineAction.choices)
    note = models.CharField(_("note"), max_length=NOTE_MAX, blank=True, default="")
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("notice timeline entry")
        verbose_name_plural = _("notice timeline")
        indexes = [models.Index(fields=["notice", "id"], name="notice_event_list")]

    def __str__(self) -> str:
        return f"{self.notice_id} {self.action}"


class NoticeUnitStat(models.Model):
    """A notice's figures for one unit and everything below it, as of ``computed_at``: how many people
    of the audience are there, how many have read, how many confirmed receipt. Rows exist for the
    units of the audience that hold someone of it and for the units above them up to the publishing
    unit. Written only by the statistics task (notices.services.stats)."""

    # Served by the unique (notice, unit) index.
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="+", db_index=False)
    unit = models.ForeignKey(OrgUnit, on_delete=models.CASCADE, related_name="+")
    path = models.CharField(max_length=255)
    depth = models.PositiveSmallIntegerField()
    level = models.PositiveSmallIntegerField(null=True)
    audience = models.PositiveIntegerField(default=0)
    read = models.PositiveIntegerField(default=0)
    confirmed = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["notice", "unit"], name="notice_stat_unique")]
        # A unit's children (drill-down): one range.
        indexes = [
            models.Index(fields=["notice", "depth", "path"], name="notice_stat_drill"),
            # The units of one level that are behind (e.g. every school of a province), in tree order.
            models.Index(fields=["notice", "level", "path"], name="notice_stat_level"),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id} {self.path} {self.read}/{self.audience}"


class NoticeSearch(models.Model):
    """The searchable text of a notice (title, body, cover note), cut as helpdesk/core/search.py
    describes, with a GIN full-text index on PostgreSQL (created by the migration)."""

    notice = models.OneToOneField(Notice, on_delete=models.CASCADE, primary_key=True, related_name="search")
    text = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.notice_id}"
