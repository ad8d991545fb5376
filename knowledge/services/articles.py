"""Every write to knowledge articles: write (each save a new version), submit, approve or reject
with a reason, archive, vote, count a view, and make one from a resolved ticket (edits, restores and
the review of an edit of a published article: ``revisions``). Each validates, changes the rows in
one transaction under a row lock, and keeps the search index in step in the same transaction
(``knowledge.search``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.core.markdown import render_markdown
from orgtree.models import OrgUnit

from .. import notifications, search, selectors
from ..models import (
    BODY_MAX,
    REASON_MAX,
    TITLE_MAX,
    Article,
    ArticleReview,
    ArticleState,
    ArticleVersion,
    ArticleVote,
    Category,
    ReviewDecision,
    Tag,
    VersionStatus,
)
from ..sources import ticket_source

TAG_MAX = 50
MAX_TAGS = 10
TEXT_FIELDS = ("title", "problem", "steps", "solution")


@dataclass
class ArticleInput:
    """What an author writes. ``tags`` are names (new ones are created)."""

    title: str
    problem: str
    solution: str
    steps: str = ""
    category: Category | None = None
    tags: list[str] = field(default_factory=list)
    ticket_types: list[str] = field(default_factory=list)
    scope_unit: OrgUnit | None = None
    note: str = ""

    @classmethod
    def from_article(cls, article: Article, **changes) -> ArticleInput:
        """The article's latest values with ``changes`` over them (a partial edit). Latest: an edit
        waiting for review when there is one, so a second edit builds on it instead of losing it."""
        values = {
            "title": article.title,
            "problem": article.problem,
            "steps": article.steps,
            "solution": article.solution,
            "category": article.category,
            "tags": [tag.name for tag in article.tags.all()],
            "ticket_types": list(article.ticket_types or []),
            "scope_unit": article.scope_unit,
        }
        pending = (
            ArticleVersion.objects.filter(pk=article.pending_revision_id).first()
            if article.pending_revision_id
            else None
        )
        if pending is not None:
            values.update({name: getattr(pending, name) for name in TEXT_FIELDS})
            if pending.meta is not None:
                values.update(meta_values(pending.meta))
        return cls(**(values | changes))


def meta_of(data: ArticleInput, cleaned: dict) -> dict:
    """What a version records besides its text (ids and names: JSON)."""
    return {
        "category": data.category.pk if data.category is not None else None,
        "tags": list(cleaned["tags"]),
        "ticket_types": list(cleaned["ticket_types"]),
        "scope_unit": data.scope_unit.pk if data.scope_unit is not None else None,
    }


def meta_values(meta: dict) -> dict:
    """A version's recorded category, tags, ticket types and scope as ArticleInput values (a
    category or unit removed since reads as none)."""
    category = Category.objects.filter(pk=meta.get("category")).first() if meta.get("category") else None
    scope = OrgUnit.objects.filter(pk=meta.get("scope_unit")).first() if meta.get("scope_unit") else None
    return {
        "category": category,
        "tags": list(meta.get("tags") or []),
        "ticket_types": list(meta.get("ticket_types") or []),
        "scope_unit": scope,
    }


def clean_input(data: ArticleInput, *, owner: OrgUnit) -> dict:
    errors: dict[str, list[str]] = {}
    values = {name: (getattr(data, name) or "").strip() for name in TEXT_FIELDS}
    for name, limit in (("title", TITLE_MAX), ("problem", BODY_MAX), ("steps", BODY_MAX), ("solution", BODY_MAX)):
        if len(values[name]) > limit:
            errors.setdefault(name, []).append(_("At most %(limit)d characters.") % {"limit": limit})
    for name in ("title", "problem", "solution"):
        if not values[name]:
            errors.setdefault(name, []).append(_("This field is required."))
    tags = []
    for raw in data.tags or []:
        name = (raw or "").strip()
        if not name:
            continue
        if len(name) > TAG_MAX:
            errors.setdefault("tags", []).append(_("A tag has at most %(limit)d characters.") % {"limit": TAG_MAX})
        elif name not in tags:
            tags.append(name)
    if len(tags) > MAX_TAGS:
        errors.setdefault("tags", []).append(_("At most %(limit)d tags.") % {"limit": MAX_TAGS})
    choices = {value for value, _label in ticket_source().ticket_type_choices()}
    types = []
    for value in data.ticket_types or []:
        if not isinstance(value, str) or (choices and value not in choices) or len(value) > 32:
            errors.setdefault("ticket_types", []).append(_("Unknown ticket type: %(value)s") % {"value": value})
        elif value not in types:
            types.append(value)
    if not selectors.scope_allowed(owner=owner, scope_unit=data.scope_unit):
        errors.setdefault("scope_unit", []).append(
            _("An article is published to its unit's own subtree; only a top-level unit publishes nationally.")
        )
    if len(data.note or "") > REASON_MAX:
        errors.setdefault("note", []).append(_("At most %(limit)d characters.") % {"limit": REASON_MAX})
    if errors:
        raise ValidationError(errors)
    return {**values, "tags": tags, "ticket_types": types}


def apply_input(article: Article, data: ArticleInput, cleaned: dict) -> None:
    for name in TEXT_FIELDS:
        setattr(article, name, cleaned[name])
    render_text(article)
    article.category = data.category
    article.ticket_types = cleaned["ticket_types"]
    article.scope_unit = data.scope_unit
    article.scope_path = data.scope_unit.path if data.scope_unit is not None else ""


def set_tags(article: Article, names: Iterable[str]) -> None:
    tags = []
    for name in names:
        tag, _created = Tag.objects.get_or_create(name=name)
        tags.append(tag)
    article.tags.set(tags)


def new_version(
    article: Article,
    *,
    user: User,
    note: str = "",
    meta: dict | None = None,
    status: str = VersionStatus.SAVED,
    text: dict | None = None,
) -> ArticleVersion:
    """The next version (the caller holds the article's row lock). A saved one is the article's
    text and becomes its version; a pending one (``text`` given) waits for review beside it."""
    number = (article.versions.aggregate(top=Max("number"))["top"] or 0) + 1
    text = text or {name: getattr(article, name) for name in TEXT_FIELDS}
    version = ArticleVersion.objects.create(
        article=article, number=number, author=user, note=note[:REASON_MAX], status=status, meta=meta, **text
    )
    if status == VersionStatus.SAVED:
        article.version = number
        Article.objects.filter(pk=article.pk).update(version=number)
    return version


def render_text(article: Article) -> None:
    article.problem_html = render_markdown(article.problem)
    article.steps_html = render_markdown(article.steps)
    article.solution_html = render_markdown(article.solution)


def locked(article: Article) -> Article:
    return Article.objects.select_for_update().get(pk=article.pk)


@transaction.atomic
def article_create(*, user: User, owner: OrgUnit, data: ArticleInput, source_ticket_id: int | None = None) -> Article:
    """A new draft owned by ``owner`` (a unit the user writes for), version 1."""
    if not selectors.may_own(user, owner):
        raise ValidationError({"unit": [_("You cannot write articles for this unit.")]})
    cleaned = clean_input(data, owner=owner)
    article = Article(author=user, unit=owner, unit_path=owner.path, state=ArticleState.DRAFT)
    article.source_ticket_id = source_ticket_id
    apply_input(article, data, cleaned)
    article.save()
    set_tags(article, cleaned["tags"])
    new_version(article, user=user, note=data.note or _("Created"), meta=meta_of(data, cleaned))
    return article


@transaction.atomic
def article_submit(*, user: User, article: Article) -> Article:
    """草稿 → 待审核."""
    article = locked(article)
    if article.state != ArticleState.DRAFT or not selectors.can_edit(user, article):
        raise ValidationError({"state": [_("Only a draft can be submitted for review.")]})
    article.state = ArticleState.PENDING_REVIEW
    article.save(update_fields=["state", "updated_at"])
    notifications.review_requested(article, actor_id=user.pk)
    return article


def _review(user: User, article: Article) -> Article:
    article = locked(article)
    if article.state != ArticleState.PENDING_REVIEW:
        raise ValidationError({"state": [_("This article is not waiting for review.")]})
    if "review" not in selectors.article_capabilities(user=user, article=article):
        raise ValidationError({"state": [_("Only a reviewer of the owning unit, not the author, reviews it.")]})
    return article


@transaction.atomic
def article_approve(*, user: User, article: Article, reason: str = "") -> Article:
    """待审核 → 已发布, and into the search index in the same transaction."""
    article = _review(user, article)
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [_("At most %(limit)d characters.") % {"limit": REASON_MAX}]})
    article.state = ArticleState.PUBLISHED
    article.published_at = timezone.now()
    article.save(update_fields=["state", "published_at", "updated_at"])
    ArticleReview.objects.create(
        article=article, reviewer=user, version=article.version, decision=ReviewDecision.APPROVED, reason=reason
    )
    search.index_article(article)
    notifications.reviewed(article, actor_id=user.pk, approved=True, reason=reason)
    return article


@transaction.atomic
def article_reject(*, user: User, article: Article, reason: str) -> Article:
    """待审核 → 草稿 with the reviewer's reason, which the author reads on the article."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the article is sent back.")]})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [_("At most %(limit)d characters.") % {"limit": REASON_MAX}]})
    article = _review(user, article)
    article.state = ArticleState.DRAFT
    article.save(update_fields=["state", "updated_at"])
    ArticleReview.objects.create(
        article=article, reviewer=user, version=article.version, decision=ReviewDecision.REJECTED, reason=reason
    )
    notifications.reviewed(article, actor_id=user.pk, approved=False, reason=reason)
    return article


@transaction.atomic
def article_archive(*, user: User, article: Article) -> Article:
    """Out of publication (and the search index) for good; the text and versions stay."""
    article = locked(article)
    if not selectors.can_edit(user, article):
        raise ValidationError({"state": [_("You cannot archive this article.")]})
    was_published = article.state == ArticleState.PUBLISHED
    if article.pending_revision_id is not None:
        # An edit waiting for review has nothing left to change: kept in the history, superseded.
        ArticleVersion.objects.filter(pk=article.pending_revision_id).update(status=VersionStatus.SUPERSEDED)
        article.pending_revision = None
    article.state = ArticleState.ARCHIVED
    article.save(update_fields=["state", "pending_revision", "updated_at"])
    if was_published:
        search.remove_article(article)
    return article


@transaction.atomic
def article_vote(*, user: User, article: Article, helpful: bool) -> Article:
    """有帮助 / 没帮助: one vote a reader, changed by voting again; the counts follow."""
    if (
        article.state != ArticleState.PUBLISHED
        or not selectors.published_articles(user=user).filter(pk=article.pk).exists()
    ):
        raise ValidationError({"helpful": [_("Only a published article you can read takes votes.")]})
    # The article's row lock serialises votes on it: a reader's two first votes at once are one.
    Article.objects.select_for_update().filter(pk=article.pk).first()
    vote = ArticleVote.objects.filter(article=article, user=user).first()
    if vote is not None and vote.helpful == helpful:
        return _refreshed(article)
    changes = {"helpful_count": F("helpful_count"), "not_helpful_count": F("not_helpful_count")}
    gained, lost = ("helpful_count", "not_helpful_count") if helpful else ("not_helpful_count", "helpful_count")
    changes[gained] = F(gained) + 1
    if vote is None:
        ArticleVote.objects.create(article=article, user=user, helpful=helpful)
    else:
        vote.helpful = helpful
        vote.save(update_fields=["helpful", "updated_at"])
        changes[lost] = F(lost) - 1
    # update(): counters are not an edit, so updated_at (the delta sync's clock) does not move.
    Article.objects.filter(pk=article.pk).update(**changes)
    return _refreshed(article)


def _refreshed(article: Article) -> Article:
    article.refresh_from_db(fields=["helpful_count", "not_helpful_count", "views"])
    return article


def article_count_view(*, user: User, article: Article) -> None:
    """One more view of a published article (a counter only: no version, no sync change). The
    owning unit's own staff opening it (after editing or approving it) are not its readers."""
    if article.state == ArticleState.PUBLISHED and not selectors.is_editor_of(user, article):
        Article.objects.filter(pk=article.pk).update(views=F("views") + 1)
        article.views += 1


def ticket_prefill(*, user: User, ticket_id) -> tuple[ArticleInput, OrgUnit, int]:
    """The draft a resolved ticket makes: title and problem from the question, solution from the
    approved answer, its type; owned by the answering unit when the user works there."""
    try:
        ticket_id = int(ticket_id)
    except (TypeError, ValueError):
        ticket_id = 0
    source = ticket_source().ticket_for_article(user=user, ticket_id=ticket_id)
    if source is None:
        raise ValidationError(
            {"ticket": [_("Only a resolved ticket with an approved answer, by its support staff, becomes an article.")]}
        )
    units = selectors.author_units(user=user)
    owner = next((unit for unit in units if unit.pk == source.answering_unit_id), units[0] if units else None)
    if owner is None:
        raise ValidationError({"unit": [_("You cannot write articles for any unit.")]})
    data = ArticleInput(
        title=source.title[:TITLE_MAX],
        problem=source.question[:BODY_MAX],
        solution=source.answer[:BODY_MAX],
        ticket_types=[source.ticket_type] if source.ticket_type else [],
        scope_unit=owner if owner.depth > 1 else None,
        note=_("From ticket %(number)s") % {"number": source.number},
    )
    return data, owner, source.id


def article_from_ticket(*, user: User, ticket_id) -> Article:
    """收录为知识 in one action: a draft prefilled from the ticket, linked to it both ways."""
    data, owner, source_id = ticket_prefill(user=user, ticket_id=ticket_id)
    return article_create(user=user, owner=owner, data=data, source_ticket_id=source_id)
