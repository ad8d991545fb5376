"""Edits and restores, and the review of an edit of a published article (有待审核的修改).

A draft's text changes at once (nobody reads it yet). A published article's does not: an edit, by
anyone, the unit's reviewers included, or a restore of an old version, is saved as a version that
waits for review (``VersionStatus.PENDING``, ``Article.pending_revision``). Readers, the search
index and the suggestions keep the published text until a reviewer of the owning unit, not the one
who wrote that edit, approves it: then the article's text becomes that version and is re-indexed in
the same transaction. A rejection keeps the published text and the refused version in the history,
marked rejected, with the reason. Every version is kept either way.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from helpdesk.core.tombstones import record_removed

from .. import notifications, search, selectors
from ..models import (
    REASON_MAX,
    Article,
    ArticleReview,
    ArticleState,
    ArticleVersion,
    ReviewDecision,
    VersionStatus,
)
from .articles import (
    TEXT_FIELDS,
    ArticleInput,
    apply_input,
    clean_input,
    locked,
    meta_of,
    meta_values,
    new_version,
    render_text,
    set_tags,
)


def _current_meta(article: Article) -> dict:
    return {
        "category": article.category_id,
        "tags": sorted(article.tags.values_list("name", flat=True)),
        "ticket_types": list(article.ticket_types or []),
        "scope_unit": article.scope_unit_id,
    }


def _propose(article: Article, *, user: User, text: dict, meta: dict, note: str) -> ArticleVersion:
    """A revision of a published article, waiting for review; it replaces an older pending one."""
    if article.pending_revision_id is not None:
        # Superseded first: the database allows one pending version an article.
        ArticleVersion.objects.filter(pk=article.pending_revision_id).update(status=VersionStatus.SUPERSEDED)
    version = new_version(article, user=user, note=note, meta=meta, status=VersionStatus.PENDING, text=text)
    # update(): readers' copy did not change, so updated_at (the delta sync's clock) stays.
    Article.objects.filter(pk=article.pk).update(pending_revision=version)
    article.pending_revision = version
    notifications.revision_requested(article, version, actor_id=user.pk)
    return version


@transaction.atomic
def article_update(*, user: User, article: Article, data: ArticleInput) -> Article:
    """Save new text, always as a new version. A draft (or one waiting for its first review)
    changes at once; a published article gets a revision that waits for review, and its readers
    keep the published text."""
    article = locked(article)
    if not selectors.can_edit(user, article):
        raise ValidationError({"state": [_("You cannot edit this article.")]})
    cleaned = clean_input(data, owner=article.unit)
    if article.state == ArticleState.PUBLISHED:
        text = {name: cleaned[name] for name in TEXT_FIELDS}
        _propose(article, user=user, text=text, meta=meta_of(data, cleaned), note=data.note)
        return article
    apply_input(article, data, cleaned)
    article.save()
    set_tags(article, cleaned["tags"])
    new_version(article, user=user, note=data.note, meta=meta_of(data, cleaned))
    return article


@transaction.atomic
def article_restore(*, user: User, article: Article, number: int) -> Article:
    """Bring back the text of version ``number`` as a new version (nothing is overwritten); on a
    published article that new version waits for review like any edit."""
    article = locked(article)
    if "restore" not in selectors.article_capabilities(user=user, article=article):
        raise ValidationError({"state": [_("You cannot restore a version of this article.")]})
    try:
        old = article.versions.get(number=number)
    except (ArticleVersion.DoesNotExist, ValueError, TypeError):
        raise ValidationError({"version": [_("No such version.")]}) from None
    note = _("Restored version %(number)d") % {"number": old.number}
    text = {name: getattr(old, name) for name in TEXT_FIELDS}
    if article.state == ArticleState.PUBLISHED:
        # The text comes back; category, tags and scope stay as published.
        _propose(article, user=user, text=text, meta=_current_meta(article), note=note)
        return article
    for name, value in text.items():
        setattr(article, name, value)
    render_text(article)
    article.save()
    new_version(article, user=user, note=note, meta=_current_meta(article))
    return article


def _pending(user: User, article: Article, number: int | None) -> ArticleVersion:
    article = locked(article)
    if article.state != ArticleState.PUBLISHED or article.pending_revision_id is None:
        raise ValidationError({"version": [_("No edit of this article is waiting for review.")]})
    version = ArticleVersion.objects.select_for_update().get(pk=article.pending_revision_id)
    if "review_revision" not in selectors.article_capabilities(user=user, article=article):
        raise ValidationError(
            {"state": [_("Only a reviewer of the owning unit, not the one who made the edit, reviews it.")]}
        )
    if number is not None and version.number != number:
        raise ValidationError(
            {
                "version": [
                    _("Version %(number)d is no longer waiting for review: a newer edit replaced it.")
                    % {"number": number}
                ]
            }
        )
    return version


def _check_reason(reason: str) -> None:
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [_("At most %(limit)d characters.") % {"limit": REASON_MAX}]})


@transaction.atomic
def revision_approve(*, user: User, article: Article, number: int | None = None, reason: str = "") -> Article:
    """The pending edit becomes the published text, re-indexed in this transaction. ``number``: the
    version the reviewer read (refused if a newer edit replaced it meanwhile)."""
    reason = (reason or "").strip()
    _check_reason(reason)
    version = _pending(user, article, number)
    article = locked(article)
    old_scope = article.scope_path
    if version.meta is not None:
        data = ArticleInput(**{name: getattr(version, name) for name in TEXT_FIELDS}, **meta_values(version.meta))
        cleaned = clean_input(data, owner=article.unit)
        apply_input(article, data, cleaned)
        set_tags(article, cleaned["tags"])
    else:
        for name in TEXT_FIELDS:
            setattr(article, name, getattr(version, name))
        render_text(article)
    if article.scope_path != old_scope:
        # Readers outside the new scope drop it from their synced lists (delta sync).
        record_removed(kind=selectors.TOMBSTONE_KIND, object_ids=[article.pk])
    article.version = version.number
    article.pending_revision = None
    article.save()
    now = timezone.now()
    ArticleVersion.objects.filter(pk=version.pk).update(
        status=VersionStatus.APPROVED, reviewed_by=user, reviewed_at=now, review_reason=reason
    )
    ArticleReview.objects.create(
        article=article, reviewer=user, version=version.number, decision=ReviewDecision.APPROVED, reason=reason
    )
    search.index_article(article)
    notifications.revision_reviewed(article, version, actor_id=user.pk, approved=True, reason=reason)
    return article


@transaction.atomic
def revision_reject(*, user: User, article: Article, reason: str, number: int | None = None) -> Article:
    """The pending edit is refused with a reason: the published text stays, the version is kept in
    the history marked rejected."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the edit is refused.")]})
    _check_reason(reason)
    version = _pending(user, article, number)
    article = locked(article)
    ArticleVersion.objects.filter(pk=version.pk).update(
        status=VersionStatus.REJECTED, reviewed_by=user, reviewed_at=timezone.now(), review_reason=reason
    )
    Article.objects.filter(pk=article.pk).update(pending_revision=None)
    article.pending_revision = None
    ArticleReview.objects.create(
        article=article, reviewer=user, version=version.number, decision=ReviewDecision.REJECTED, reason=reason
    )
    notifications.revision_reviewed(article, version, actor_id=user.pk, approved=False, reason=reason)
    return article
