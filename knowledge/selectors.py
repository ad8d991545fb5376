"""Every read of the knowledge base, scoped to the acting user (``accounts.scope.scope_of``).

Two kinds of reach:

- **Readers** see published articles whose scope covers them: national ones, and those scoped to a
  unit their own unit lies in (their unit or one above it). A role holder also reads those scoped
  to the subtrees where it holds its role: it serves those units.
- **Editors** of an owning unit (its support agents, answer reviewers and the administrators of it or
  a unit above) and the author see the article in any state; **reviewers** (answer reviewers of the
  owning unit, administrators above it) approve or reject what is pending.

Anything else is a 404 by id, attachments and versions included.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Role, User
from accounts.scope import path_in_subtree, scope_of
from helpdesk.core.api.delta import DeltaSource
from helpdesk.core.paths import ancestor_paths
from orgtree.models import OrgUnit

from .models import Article, ArticleAttachment, ArticleState, ArticleVersion, Category, Tag, VersionStatus
from .sources import ticket_source

# Roles held in a unit that let one write that unit's articles (administrators: their subtree's).
EDITOR_ROLES = (Role.SUPPORT_AGENT, Role.ANSWER_REVIEWER)
SORTS = {
    "newest": ("-published_at", "-id"),
    "views": ("-views", "-id"),
    "helpful": ("-helpful_count", "-id"),
}


def _reader_q(user: User) -> Q:
    """Scopes that cover the user: national, a unit at or above its own, a unit in a subtree where
    it holds a role."""
    q = Q(scope_path="")
    scope = scope_of(user)
    if scope.is_superuser:
        return Q()
    unit_path = getattr(getattr(user, "unit", None), "path", "")
    if unit_path:
        q |= Q(scope_path__in=ancestor_paths(unit_path, OrgUnit.steplen))
    return q | scope.subtree_q("scope_path")


def _editor_q(user: User) -> Q:
    scope = scope_of(user)
    if scope.is_superuser:
        return Q()
    held_units = [held.unit_id for held in scope.held(*EDITOR_ROLES)]
    return Q(author_id=user.pk) | Q(unit_id__in=held_units) | scope.subtree_q("unit_path", Role.UNIT_ADMIN)


def _reviewer_q(user: User) -> Q:
    scope = scope_of(user)
    if scope.is_superuser:
        return Q()
    units = [held.unit_id for held in scope.held(Role.ANSWER_REVIEWER)]
    return Q(unit_id__in=units) | scope.subtree_q("unit_path", Role.UNIT_ADMIN)


def _visible_q(user: User) -> Q:
    return (Q(state=ArticleState.PUBLISHED) & _reader_q(user)) | _editor_q(user) | _reviewer_q(user)


def visible_articles(*, user: User) -> QuerySet[Article]:
    """Every article the user may open, in any state it may see."""
    if not user.is_authenticated:
        return Article.objects.none()
    return Article.objects.filter(_visible_q(user))


def published_articles(*, user: User) -> QuerySet[Article]:
    """Published articles whose scope covers the user: what readers browse and search."""
    if not user.is_authenticated:
        return Article.objects.none()
    return Article.objects.filter(Q(state=ArticleState.PUBLISHED) & _reader_q(user))


# Tombstones of articles that left readers' lists without a change the list can find (a new scope).
TOMBSTONE_KIND = "knowledge_article"


def article_delta_source(*, user: User) -> DeltaSource:
    """The published list's delta: articles scoped to the reader that changed, those no longer
    published (archived) among them removed; a scope moved away comes as a tombstone."""
    return DeltaSource(
        candidates=Article.objects.filter(_reader_q(user)),
        kinds=(TOMBSTONE_KIND,),
        user_id=user.pk,
        member=Q(state=ArticleState.PUBLISHED),
    )


def article_get(*, user: User, pk) -> Article:
    try:
        return (
            visible_articles(user=user)
            .select_related("category", "scope_unit", "unit", "author", "pending_revision__author")
            .get(pk=pk)
        )
    except (Article.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such article.")) from None


def can_edit(user: User, article: Article) -> bool:
    """Whether the user may change the article's text, submit it and archive it."""
    if article.state == ArticleState.ARCHIVED:
        return False
    return is_editor_of(user, article)


def is_editor_of(user: User, article: Article) -> bool:
    scope = scope_of(user)
    if scope.is_superuser or article.author_id == user.pk:
        return True
    if any(held.unit_id == article.unit_id for held in scope.held(*EDITOR_ROLES)):
        return True
    return scope.covers(article.unit_path, Role.UNIT_ADMIN)


def is_reviewer_of(user: User, article: Article) -> bool:
    """Answer reviewers of the owning unit and administrators of it or a unit above."""
    scope = scope_of(user)
    if scope.is_superuser:
        return True
    if any(held.unit_id == article.unit_id for held in scope.held(Role.ANSWER_REVIEWER)):
        return True
    return scope.covers(article.unit_path, Role.UNIT_ADMIN)


def article_capabilities(*, user: User, article: Article) -> set[str]:
    """What the page and the API offer this user on this article."""
    caps: set[str] = set()
    editor = is_editor_of(user, article)
    if editor:
        caps.add("history")
    if article.state == ArticleState.PUBLISHED:
        caps.add("vote")
    if can_edit(user, article):
        caps.update({"edit", "archive", "attach"})
        if article.state == ArticleState.DRAFT:
            caps.add("submit")
        if editor and article.state != ArticleState.PENDING_REVIEW:
            caps.add("restore")
    # Nobody approves their own writing (a second pair of eyes), superusers aside.
    own = article.author_id == user.pk and not scope_of(user).is_superuser
    if article.state == ArticleState.PENDING_REVIEW and is_reviewer_of(user, article) and not own:
        caps.add("review")
    # An edit of a published article: a reviewer of the unit approves it, never the one who made
    # that edit (whatever its roles: a second pair of eyes on what readers will see).
    if (
        article.state == ArticleState.PUBLISHED
        and article.pending_revision_id is not None
        and article.pending_revision.author_id != user.pk
        and is_reviewer_of(user, article)
    ):
        caps.add("review_revision")
    return caps


def pending_revision(*, user: User, article: Article) -> ArticleVersion | None:
    """The edit waiting for review, for the article's editors and reviewers; None for readers (and
    when there is none): they see the published text only."""
    if article.pending_revision_id is None or article.state != ArticleState.PUBLISHED:
        return None
    if not (is_editor_of(user, article) or is_reviewer_of(user, article)):
        return None
    return article.pending_revision


def possible_duplicates(*, user: User, article: Article) -> list:
    """可能重复, for the article's editors and reviewers while it (or an edit of it) waits: the
    published articles they can read that most resemble its text (``knowledge.duplicates``)."""
    from .duplicates import similar_articles

    if not (is_editor_of(user, article) or is_reviewer_of(user, article)):
        return []
    pending = pending_revision(user=user, article=article)
    if pending is not None:
        text = pending
    elif article.state in (ArticleState.DRAFT, ArticleState.PENDING_REVIEW):
        text = article
    else:
        return []
    return similar_articles(published_articles(user=user).exclude(pk=article.pk), title=text.title, body=text.problem)


def review_queue(*, user: User) -> QuerySet[Article]:
    """What waits for this user's review, oldest first: new articles (not its own) and edits of
    published articles (not its own edits). ``Article.pending_revision`` tells them apart."""
    if not user.is_authenticated:
        return Article.objects.none()
    new = Q(state=ArticleState.PENDING_REVIEW) & ~Q(author_id=user.pk)
    edits = Q(state=ArticleState.PUBLISHED, pending_revision__isnull=False) & ~Q(pending_revision__author_id=user.pk)
    return (
        Article.objects.filter(_reviewer_q(user))
        .filter(new | edits)
        .select_related("unit", "author", "category", "pending_revision__author")
        .annotate(submitted_at=Coalesce("pending_revision__created_at", "updated_at"))
        .order_by("submitted_at", "id")
    )


def my_articles(*, user: User) -> QuerySet[Article]:
    """Drafts and everything else the user may edit, newest change first."""
    if not user.is_authenticated:
        return Article.objects.none()
    return Article.objects.filter(_editor_q(user)).select_related("unit", "category").order_by("-updated_at", "-id")


def category_descendant_ids(category: Category) -> list[int]:
    """The category and every category below it (the tree is small: read it once)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in Category.objects.values_list("id", "parent_id"):
        children.setdefault(parent, []).append(pk)
    found, stack = [], [category.pk]
    while stack:
        pk = stack.pop()
        found.append(pk)
        stack.extend(children.get(pk, []))
    return found


def article_list(
    *,
    user: User,
    sort: str = "newest",
    category: Category | None = None,
    tag: Tag | None = None,
    unit: OrgUnit | None = None,
    states: Iterable[str] | None = None,
) -> QuerySet[Article]:
    """Published articles the user may read (or, with ``states``, the articles it may edit in those
    states), filtered by category (with its subcategories), tag and owning unit (its subtree)."""
    if states:
        articles = Article.objects.filter(_editor_q(user) | _reviewer_q(user), state__in=list(states))
    else:
        articles = published_articles(user=user)
    if category is not None:
        articles = articles.filter(category_id__in=category_descendant_ids(category))
    if tag is not None:
        articles = articles.filter(tags=tag)
    if unit is not None:
        articles = articles.filter(unit_path__startswith=unit.path)
    return articles.select_related("category", "unit", "scope_unit").order_by(*SORTS.get(sort, SORTS["newest"]))


def article_versions(*, user: User, article: Article) -> QuerySet[ArticleVersion]:
    """The article's versions, newest first: for its editors and reviewers only."""
    if not (is_editor_of(user, article) or is_reviewer_of(user, article)):
        raise Http404(_("No such article."))
    return article.versions.select_related("author", "reviewed_by").order_by("-number")


def article_version_get(*, user: User, article: Article, number) -> ArticleVersion:
    try:
        return article_versions(user=user, article=article).get(number=number)
    except (ArticleVersion.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such version.")) from None


def version_before(*, article: Article, version: ArticleVersion) -> ArticleVersion | None:
    """What a version's diff compares it with: for an edit waiting for review, the published text
    (what the reviewer approves is the change readers would see); otherwise the version before."""
    if version.status == VersionStatus.PENDING and article.version and article.version != version.number:
        return article.versions.filter(number=article.version).first()
    return article.versions.filter(number__lt=version.number).order_by("-number").first()


def article_attachments(*, user: User, article: Article) -> QuerySet[ArticleAttachment]:
    return article.attachments.order_by("id")


def attachment_get(*, user: User, article_id, pk) -> ArticleAttachment:
    """A file of an article the user may open; a 404 for anything else."""
    article = article_get(user=user, pk=article_id)
    try:
        return article.attachments.get(pk=pk)
    except (ArticleAttachment.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such file.")) from None


def source_ticket_visible(*, user: User, article: Article) -> bool:
    """Whether the article's source ticket may be shown (linked) to this user: tickets decide."""
    if article.source_ticket_id is None:
        return False
    return article.source_ticket_id in ticket_source().visible_ticket_ids(user=user, ids=[article.source_ticket_id])


def articles_from_ticket(*, user: User, ticket_id: int) -> QuerySet[Article]:
    """The articles made from a ticket (收录为知识) that the user may open, newest first."""
    return (
        visible_articles(user=user)
        .filter(source_ticket_id=ticket_id)
        .select_related("category", "unit", "scope_unit")
        .order_by("-id")
    )


def categories() -> QuerySet[Category]:
    return Category.objects.order_by("order", "id")


def category_tree() -> list[tuple[Category, int]]:
    """Every category with its depth, in tree order (parents before children)."""
    rows = list(categories())
    children: dict[int | None, list[Category]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    ordered: list[tuple[Category, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for node in children.get(parent, []):
            ordered.append((node, depth))
            walk(node.pk, depth + 1)

    walk(None, 0)
    return ordered


def tags() -> QuerySet[Tag]:
    return Tag.objects.order_by("name")


def reader_units(*, user: User | None) -> list[OrgUnit]:
    """Units whose articles a reader filters by: its own unit and those above it, and the units
    where it holds a role (in tree order)."""
    if user is None or not user.is_authenticated:
        return []
    paths = set(ancestor_paths(user.unit.path, OrgUnit.steplen)) if getattr(user, "unit", None) else set()
    paths.update(held.unit_path for held in scope_of(user).held())
    return list(OrgUnit.objects.filter(path__in=paths).order_by("path"))


def author_units(*, user: User) -> list[OrgUnit]:
    """Units whose articles the user may write: where it is an agent or reviewer, or administers."""
    scope = scope_of(user)
    ids = [held.unit_id for held in scope.held(*EDITOR_ROLES, Role.UNIT_ADMIN)]
    if scope.is_superuser and getattr(user, "unit_id", None):
        ids.append(user.unit_id)
    return list(OrgUnit.objects.filter(pk__in=ids).order_by("path"))


def may_own(user: User, unit: OrgUnit) -> bool:
    scope = scope_of(user)
    if scope.is_superuser:
        return True
    if any(held.unit_id == unit.pk for held in scope.held(*EDITOR_ROLES)):
        return True
    return scope.covers(unit.path, Role.UNIT_ADMIN)


def is_author(user: User) -> bool:
    """Whether the user may write articles at all (the portal's 写文章 button)."""
    return scope_of(user).is_superuser or bool(scope_of(user).held(*EDITOR_ROLES, Role.UNIT_ADMIN))


def scope_allowed(*, owner: OrgUnit, scope_unit: OrgUnit | None) -> bool:
    """A unit publishes to its own subtree; only a top-level unit (the ministry) nationally."""
    if scope_unit is None:
        return owner.depth == 1
    return path_in_subtree(scope_unit.path, owner.path)
