"""可能重复: published articles that already cover what a new article (or an edit) is about.

A knowledge base with review refuses duplicates: two articles on one fault split the votes, drift
apart when one is corrected, and crowd a search's first page with the same answer. The editor's
preview, the article page of a draft or of an edit waiting for review, and the API show the most
similar published articles as a warning; the reviewer decides. ``manage.py generate_articles``
uses the same check to leave out topics the knowledge base already holds.

Similarity reuses the search's scoring (``knowledge.search``): the draft's title and problem are the
query, limited to its most telling terms like a suggestion, and each published article's BM25F score
is divided by the score the draft itself would get for that query. 1.0 reads "says what the draft
says, as prominently"; an article sharing only the device scores a fraction of it. A word of the
draft's title that no article holds (a fault the knowledge base has no word for) counts on the
draft's side at the highest IDF: "投影机风扇噪音大" is no duplicate of the base's projector and
whiteboard articles when none of them speaks of 风扇 or 噪音 (0.28 instead of 0.60 without it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import QuerySet

from . import sql
from .models import Article
from .search import B_BODY, B_TITLE, K1, SUGGEST_TERMS, TITLE_WEIGHT, _weights
from .search_text import document_terms, query_terms

# From this share of the draft's own score on, an article is shown as 可能重复. Measured over the
# relevance set (tests/knowledge/relevance_corpus.py, 48 articles): its articles against each other
# score at most 0.26 (distinct cases, none flagged); the generator's 27 topics that repeat one of
# them (same device, same fault) score 0.52–0.93 against it; of its 26 other topics, 5 reach 0.5
# (three of them arguably the same case: 话筒杂音 / 音响杂音, 蓝屏重启 / 自动重启, 触控不准 / 触控失灵).
DUPLICATE_SHARE = 0.5
QUERY_CHARS = 1000


@dataclass
class Similar:
    article: Article
    similarity: float


def _self_score(weights: dict[str, float], title: str, body: str, avg_title: float, avg_body: float) -> float:
    """The BM25F score the draft would get for its own query (``knowledge.search``'s formula)."""
    title_terms, body_terms = document_terms(title), document_terms(body)
    title_len, body_len = sum(title_terms.values()), sum(body_terms.values())
    title_norm = 1 - B_TITLE + B_TITLE * title_len / avg_title
    body_norm = 1 - B_BODY + B_BODY * body_len / avg_body
    total = 0.0
    for term, weight in weights.items():
        tfn = TITLE_WEIGHT * title_terms.get(term, 0) / title_norm + body_terms.get(term, 0) / body_norm
        if tfn:
            total += weight * tfn * (K1 + 1) / (tfn + K1)
    return total


def similar_articles(
    queryset: QuerySet[Article], *, title: str, body: str, limit: int = 3, share: float = DUPLICATE_SHARE
) -> list[Similar]:
    """The published articles of ``queryset`` most like a draft with ``title`` and ``body``, most
    similar first, those at ``share`` of the draft's own score or above."""
    title, body = (title or "")[:QUERY_CHARS], (body or "")[:QUERY_CHARS]
    weights, _asked = _weights(f"{title}\n{body}", max_terms=SUGGEST_TERMS)
    if not weights:
        return []
    documents, title_terms, body_terms = sql.read_stats()
    avg_title = max(title_terms / max(documents, 1), 1.0)
    avg_body = max(body_terms / max(documents, 1), 1.0)
    # The title's words that no article holds count on the draft's side at the highest IDF: the
    # title names the fault, and a fault the knowledge base has no word for is not one it covers.
    title_own = [term for term, weight in query_terms(title).items() if weight == 1.0]
    unknown = set(title_own) - set(sql.document_frequencies(title_own))
    novel = dict.fromkeys(sorted(unknown), math.log(1 + (documents + 0.5) / 0.5))
    own = _self_score(weights | novel, title, body, avg_title, avg_body)
    if own <= 0:
        return []
    ranked = sql.score(
        queryset,
        weights,
        k1=K1,
        title_weight=TITLE_WEIGHT,
        title_norm=(1 - B_TITLE, B_TITLE / avg_title),
        body_norm=(1 - B_BODY, B_BODY / avg_body),
        limit=limit,
    )
    close = [(pk, value / own) for pk, value in ranked if value / own >= share]
    articles = queryset.in_bulk([pk for pk, _value in close])
    return [Similar(articles[pk], round(min(value, 1.0), 3)) for pk, value in close if pk in articles]
