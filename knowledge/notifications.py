"""What the knowledge base puts in people's notification centre (the bell): a submitted article for
the owning unit's reviewers, and the decision for its author. Written in the service's transaction
(``accounts.services.notify``), never for the person whose own action it reports."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role, RoleAssignment
from accounts.notifications import NotificationKind, register_kinds
from accounts.services import Draft, notify
from helpdesk.core.paths import ancestor_paths
from orgtree.models import OrgUnit

from .models import Article, ArticleVersion

REVIEW_REQUESTED = "knowledge.review_requested"
REVIEWED = "knowledge.reviewed"

register_kinds(
    NotificationKind(REVIEW_REQUESTED, gettext_lazy("A knowledge article waits for my review")),
    NotificationKind(REVIEWED, gettext_lazy("My knowledge article was reviewed")),
)


def _draft(kind: str, article: Article, user_ids, title: str, body: str = "") -> Draft:
    return Draft(
        user_ids=list(user_ids),
        kind=kind,
        title=title,
        body=body,
        url=reverse("knowledge:detail", args=[article.pk]),
        subject_type="knowledge_article",
        subject_id=article.pk,
    )


def _reviewers(article: Article, *, exclude: set[int]) -> set[int]:
    """The owning unit's answer reviewers; where it has none but those excluded (the author, the
    editor), the administrators of it and the units above it (who may review too)."""
    reviewers = (
        set(
            RoleAssignment.objects.filter(unit_id=article.unit_id, role=Role.ANSWER_REVIEWER).values_list(
                "user_id", flat=True
            )
        )
        - exclude
    )
    if not reviewers:
        above = ancestor_paths(article.unit_path, OrgUnit.steplen)
        reviewers = (
            set(
                RoleAssignment.objects.filter(Q(unit__path__in=above), role=Role.UNIT_ADMIN).values_list(
                    "user_id", flat=True
                )
            )
            - exclude
        )
    return reviewers


def review_requested(article: Article, *, actor_id: int) -> None:
    """A submitted article, to its reviewers (not its author: nobody approves their own)."""
    reviewers = _reviewers(article, exclude={actor_id, article.author_id})
    title = _("Please review the knowledge article: %(title)s") % {"title": article.title}
    notify([_draft(REVIEW_REQUESTED, article, reviewers, title)])


def revision_requested(article: Article, version: ArticleVersion, *, actor_id: int) -> None:
    """An edit of a published article, to the reviewers who may approve it (not its editor; the
    article's author may, if it reviews for the unit)."""
    reviewers = _reviewers(article, exclude={actor_id})
    title = _("Please review an edit of the knowledge article: %(title)s") % {"title": article.title}
    notify([_draft(REVIEW_REQUESTED, article, reviewers, title, version.note[:500])])


def revision_reviewed(
    article: Article, version: ArticleVersion, *, actor_id: int, approved: bool, reason: str = ""
) -> None:
    if version.author_id == actor_id:
        return
    if approved:
        title = _("Your edit of the knowledge article is published: %(title)s") % {"title": article.title}
    else:
        title = _("Your edit of the knowledge article was refused: %(title)s") % {"title": article.title}
    notify([_draft(REVIEWED, article, [version.author_id], title, reason[:500])])


def reviewed(article: Article, *, actor_id: int, approved: bool, reason: str = "") -> None:
    if article.author_id == actor_id:
        return
    if approved:
        title = _("Your knowledge article is published: %(title)s") % {"title": article.title}
    else:
        title = _("Your knowledge article was sent back: %(title)s") % {"title": article.title}
    notify([_draft(REVIEWED, article, [article.author_id], title, reason[:500])])
