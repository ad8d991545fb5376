"""How many questions the knowledge base answered without a ticket (这解决了我的问题), for the reports:
scoped like every read, to the units the user administers."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count

from accounts.models import Role, User
from accounts.scope import scope_of, subtrees_q

from .models import SelfSolved


def self_solved_counts(
    *, user: User, since: datetime | None = None, until: datetime | None = None
) -> dict[str, list[dict]]:
    """Questions solved by an article, by unit and by article, in the subtrees the user administers
    (everything for a superuser), between ``since`` and ``until``."""
    rows = SelfSolved.objects.all()
    scope = scope_of(user)
    if not scope.is_superuser:
        rows = rows.filter(scope.subtree_q("unit__path", Role.UNIT_ADMIN))
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    by_unit = rows.values("unit_id", "unit__name").annotate(count=Count("id")).order_by("-count", "unit_id")
    by_article = (
        rows.values("article_id", "article__title").annotate(count=Count("id")).order_by("-count", "article_id")
    )
    return {
        "by_unit": [{"unit": r["unit_id"], "name": r["unit__name"], "count": r["count"]} for r in by_unit],
        "by_article": [
            {"article": r["article_id"], "title": r["article__title"], "count": r["count"]} for r in by_article
        ],
    }


def self_solved_in_subtree(*, user: User, unit_path: str, since: datetime, until: datetime) -> int | None:
    """Questions solved by an article by readers in the subtree of the unit at ``unit_path``, between
    ``since`` and ``until``; None unless the user administers that unit (or is a superuser), so a
    ticket report shows the figure to the unit's supervisors and to no one else."""
    scope = scope_of(user)
    if not scope.is_superuser and not scope.covers(unit_path, Role.UNIT_ADMIN):
        return None
    return SelfSolved.objects.filter(
        subtrees_q([unit_path], "unit__path"), created_at__gte=since, created_at__lt=until
    ).count()
