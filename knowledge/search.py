"""Search of knowledge articles: a placeholder the search engine replaces (issue 13's search part).

The contract the services, selectors and views rely on:

- ``index_article(article)``: called in the transaction of every publish, edit of a published
  article and restore; makes the article findable as it now reads.
- ``remove_article(article)``: called when an article leaves publication (archived).
- ``search_articles(queryset, query, *, limit=50) -> list[SearchHit]``: the articles of ``queryset``
  (already scoped to the reader) matching ``query``, best match first, each with highlighted title
  and snippet HTML (escaped text, matched words in ``<mark>``).

Until the engine lands, this matches like the ticket search (every word in title or body) and ranks
by title matches then views.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.html import escape

from helpdesk.core.search import query_terms

from .models import Article


@dataclass
class SearchHit:
    article: Article
    score: float
    title_html: str
    snippet_html: str


def index_article(article: Article) -> None:
    """Nothing to index for the plain matcher."""


def remove_article(article: Article) -> None:
    """Nothing to remove for the plain matcher."""


def _highlight(text: str, words: list[str]) -> str:
    html = escape(text)
    for word in sorted(set(words), key=len, reverse=True):
        html = html.replace(escape(word), f"<mark>{escape(word)}</mark>")
    return html


def search_articles(queryset: QuerySet[Article], query: str, *, limit: int = 50) -> list[SearchHit]:
    words = [term for term, _exact in query_terms(query)]
    if not words:
        return []
    matched = queryset
    for word in words:
        matched = matched.filter(
            Q(title__icontains=word)
            | Q(problem__icontains=word)
            | Q(steps__icontains=word)
            | Q(solution__icontains=word)
        )
    hits = []
    for article in matched.order_by("-views", "-id")[: limit * 4]:
        score = sum(3 for word in words if word in article.title) + sum(1 for word in words if word in article.problem)
        snippet = article.problem[:160]
        hits.append(SearchHit(article, float(score), _highlight(article.title, words), _highlight(snippet, words)))
    hits.sort(key=lambda hit: -hit.score)
    return hits[:limit]
