"""Portal pages of the knowledge base's review and history: the review queue (new articles and edits
of published ones), version history, and one version with its diff (and, for an edit waiting for
review, the reviewer's decision). Thin, like ``articles``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .. import selectors, services
from ..forms import ReasonForm
from ..models import ArticleState


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.review_queue(user=request.user)[:200])
    mine = list(selectors.my_articles(user=request.user).exclude(state=ArticleState.ARCHIVED)[:200])
    return render(request, "knowledge/review.html", {"rows": rows, "mine": mine})


@login_required
def article_history(request: HttpRequest, pk: int) -> HttpResponse:
    article = selectors.article_get(user=request.user, pk=pk)
    versions = list(selectors.article_versions(user=request.user, article=article))
    return render(
        request,
        "knowledge/history.html",
        {
            "article": article,
            "versions": versions,
            "capabilities": selectors.article_capabilities(user=request.user, article=article),
        },
    )


@login_required
def article_version(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    article = selectors.article_get(user=request.user, pk=pk)
    version = selectors.article_version_get(user=request.user, article=article, number=number)
    before = selectors.version_before(article=article, version=version)
    return render(
        request,
        "knowledge/version.html",
        {
            "article": article,
            "version": version,
            "before": before,
            "diff": services.version_diff_html(before, version),
            "capabilities": selectors.article_capabilities(user=request.user, article=article),
            "pending": selectors.pending_revision(user=request.user, article=article),
            "revision_form": ReasonForm(),
        },
    )
