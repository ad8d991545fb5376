"""Search of knowledge articles: an inverted index in the database, ranked by BM25F.

Why this engine (figures in bench/README.md, "Knowledge search"): the index is four tables of our
own (knowledge.models: ``ArticleSearchTerm`` the postings, ``ArticleSearchDoc``, ``ArticleSearchTermStat``
the document frequencies, ``ArticleSearchStats`` the totals), written in the same transaction as the
publish, edit, restore or archive that changes what readers may find, so a search never sees an
article the reader cannot open nor misses one just published. It runs the same on the embedded
SQLite default and on PostgreSQL (no server to add, no second store to keep in step), and the scope
filter is the reader's own queryset, applied inside the scoring statement.

Text analysis (knowledge/search_text.py): synonyms of the domain rewritten to one form, bigrams of
Chinese runs, question fillers and particles dropped, related words added to a query at half weight.

Scoring (BM25F, Robertson & Zaragoza): for each query term t with weight w_t (1, or 0.5 for a related
word) and idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)),

    tfn = TITLE_WEIGHT × tf_title / (1 - B_TITLE + B_TITLE × title_len / avg_title_len)
          + tf_body / (1 - B_BODY + B_BODY × body_len / avg_body_len)
    score = Σ w_t × idf(t) × tfn × (K1 + 1) / (tfn + K1)

Document frequencies and N are those of all published articles, not only the reader's: what a word
is worth does not depend on who asks, and the figures cost nothing to read. Every article holding a
query term is scored (its postings are read in any case); only those of the reader's queryset are
returned (knowledge/sql.py ``score``).

Cost: from ``PRUNE_FROM`` articles on, a query reads at most about ``POSTINGS_BUDGET`` postings: its
rarest terms first, common words and common related words left out (``_within_budget``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet

from . import sql
from .models import Article, ArticleSearchDoc, ArticleSearchTerm, ArticleState
from .search_text import document_terms, highlight, query_terms, snippet

K1 = 1.2
TITLE_WEIGHT = 3.0
B_TITLE = 0.5
B_BODY = 0.75
# What a query may cost (``_within_budget``): postings read at most, and the
# share of the articles above which a term is left out when rarer ones carry the query (a related
# word's share is lower). Only from ``PRUNE_FROM`` articles: below, every term is cheap.
POSTINGS_BUDGET = 40_000
COMMON_SHARE = 0.15
RELATED_COMMON_SHARE = 0.03
PRUNE_FROM = 1000
# A question typed into the ticket form can be long: its most telling terms make the suggestion.
SUGGEST_TERMS = 12
SUGGEST_FLOOR = 0.35
MAX_LIMIT = 200
_POSTING_MAX = 32767


@dataclass
class SearchHit:
    article: Article
    score: float
    title_html: str
    snippet_html: str


def article_text(article: Article) -> tuple[str, str]:
    """What the index reads of an article: its title, and its body (problem, steps, solution)."""
    return article.title, "\n".join(part for part in (article.problem, article.steps, article.solution) if part)


def _postings(article: Article) -> tuple[list[tuple[int, str, int, int, int, int]], int, int]:
    title, body = article_text(article)
    title_terms, body_terms = document_terms(title), document_terms(body)
    title_len, body_len = sum(title_terms.values()), sum(body_terms.values())
    rows = [
        (
            article.pk,
            term,
            min(title_terms.get(term, 0), _POSTING_MAX),
            min(body_terms.get(term, 0), _POSTING_MAX),
            min(title_len, _POSTING_MAX),
            body_len,
        )
        for term in sorted(title_terms.keys() | body_terms.keys())
    ]
    return rows, title_len, body_len


def index_article(article: Article) -> None:
    """Make a published article findable as it now reads (called in the transaction of its publish,
    edit or restore). Replaces whatever the index held for it; an article that is not published is
    taken out instead."""
    if article.state != ArticleState.PUBLISHED:
        remove_article(article)
        return
    with transaction.atomic():
        sql.lock_stats()
        old_doc = ArticleSearchDoc.objects.filter(article_id=article.pk).first()
        old_terms = set(ArticleSearchTerm.objects.filter(article_id=article.pk).values_list("term", flat=True))
        ArticleSearchTerm.objects.filter(article_id=article.pk).delete()
        rows, title_len, body_len = _postings(article)
        ArticleSearchTerm.objects.bulk_create(
            ArticleSearchTerm(article_id=a, term=t, tf_title=tt, tf_body=tb, title_len=tl, body_len=bl)
            for a, t, tt, tb, tl, bl in rows
        )
        new_terms = {row[1] for row in rows}
        sql.change_document_frequencies(sorted(new_terms - old_terms), sorted(old_terms - new_terms))
        sql.add_to_stats(
            0 if old_doc else 1,
            title_len - (old_doc.title_len if old_doc else 0),
            body_len - (old_doc.body_len if old_doc else 0),
        )
        ArticleSearchDoc.objects.update_or_create(
            article_id=article.pk,
            defaults={"version": article.version, "title_len": title_len, "body_len": body_len},
        )


def remove_article(article: Article) -> None:
    """Take an article out of the index (archived); nothing happens if it was not in it."""
    with transaction.atomic():
        sql.lock_stats()
        old_doc = ArticleSearchDoc.objects.filter(article_id=article.pk).first()
        if old_doc is None:
            return
        old_terms = list(ArticleSearchTerm.objects.filter(article_id=article.pk).values_list("term", flat=True))
        ArticleSearchTerm.objects.filter(article_id=article.pk).delete()
        sql.change_document_frequencies([], sorted(old_terms))
        sql.add_to_stats(-1, -old_doc.title_len, -old_doc.body_len)
        old_doc.delete()


def rebuild_index(*, batch: int = 1000, progress: Callable[[int], None] | None = None) -> int:
    """Index every published article from scratch, in one transaction (readers keep the old index
    until it commits). ``progress`` is called with the number of articles done in each batch.
    Returns how many articles were indexed."""
    done = 0
    with transaction.atomic():
        sql.lock_stats()
        sql.clear_index()
        articles = Article.objects.filter(state=ArticleState.PUBLISHED).order_by("pk")
        last = 0
        while True:
            chunk = list(
                articles.filter(pk__gt=last).only("pk", "title", "problem", "steps", "solution", "version")[:batch]
            )
            if not chunk:
                break
            rows: list[tuple[int, str, int, int, int, int]] = []
            docs = []
            for article in chunk:
                article_rows, title_len, body_len = _postings(article)
                rows.extend(article_rows)
                docs.append(
                    ArticleSearchDoc(
                        article_id=article.pk, version=article.version, title_len=title_len, body_len=body_len
                    )
                )
            sql.copy_postings(rows)
            ArticleSearchDoc.objects.bulk_create(docs)
            last = chunk[-1].pk
            done += len(chunk)
            if progress:
                progress(len(chunk))
        sql.recount_after_rebuild()
    return done


def catch_up_index(*, batch: int = 500) -> tuple[int, int]:
    """Bring the index in step with the articles if a write ever bypassed the services (a restore
    from backup, a manual fix in the database): published articles missing or at another version
    are indexed, indexed articles no longer published are removed. Idempotent: a second run finds
    nothing. Returns (indexed, removed)."""
    indexed = removed = 0
    stale = (
        ArticleSearchDoc.objects.exclude(article__state=ArticleState.PUBLISHED)
        .values_list("article_id", flat=True)
        .order_by("article_id")
    )
    for article in Article.objects.filter(pk__in=list(stale[:batch])):
        remove_article(article)
        removed += 1
    indexed_versions = ArticleSearchDoc.objects.filter(article_id__in=Article.objects.filter(state="published"))
    versions = dict(indexed_versions.values_list("article_id", "version"))
    published = Article.objects.filter(state=ArticleState.PUBLISHED).values_list("pk", "version")
    missing = [pk for pk, version in published.iterator(chunk_size=5000) if versions.get(pk) != version]
    for start in range(0, len(missing), batch):
        for article in Article.objects.filter(pk__in=missing[start : start + batch]):
            with transaction.atomic():
                # Re-read under the lock: the article may have been archived meanwhile.
                fresh = Article.objects.select_for_update().get(pk=article.pk)
                index_article(fresh)
            indexed += 1
    return indexed, removed


# --- Searching ---------------------------------------------------------------------------------------


def _weights(query: str, *, max_terms: int | None = None) -> tuple[dict[str, float], set[str]]:
    """term → IDF × the query's weight, for the terms the index holds; and every term of the query
    (to highlight)."""
    asked = query_terms(query)
    documents, _title_terms, _body_terms = sql.read_stats()
    if not asked or not documents:
        return {}, set(asked)
    frequencies = sql.document_frequencies(asked)
    weights = {
        term: weight * math.log(1 + (documents - frequencies[term] + 0.5) / (frequencies[term] + 0.5))
        for term, weight in asked.items()
        if frequencies.get(term)
    }
    if documents >= PRUNE_FROM:
        weights = _within_budget(weights, asked, frequencies, documents)
    if max_terms is not None and len(weights) > max_terms:
        weights = dict(sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:max_terms])
    return weights, set(asked)


def _within_budget(
    weights: dict[str, float], asked: dict[str, float], frequencies: dict[str, int], documents: int
) -> dict[str, float]:
    """The query's terms worth their cost. Each term costs its postings (in 100,000 articles 无法 has
    15,000, 重启 32,000) and a common one moves a ranking least: the query's own terms are taken
    rarest first while their postings fit ``POSTINGS_BUDGET`` (the rarest always), a term in
    more than ``COMMON_SHARE`` of the articles never when rarer ones carry the query; a related word,
    only a hint, is taken if it is rare (``RELATED_COMMON_SHARE``) and the budget still has room."""
    own = sorted((term for term in weights if asked[term] == 1.0), key=lambda term: (frequencies[term], term))
    kept: dict[str, float] = {}
    spent = 0
    for term in own:
        cost = frequencies[term]
        if kept and (spent + cost > POSTINGS_BUDGET or cost > documents * COMMON_SHARE):
            continue
        kept[term] = weights[term]
        spent += cost
    related = sorted((term for term in weights if asked[term] != 1.0), key=lambda term: (frequencies[term], term))
    for term in related:
        cost = frequencies[term]
        if kept and (spent + cost > POSTINGS_BUDGET or cost > documents * RELATED_COMMON_SHARE):
            continue
        kept[term] = weights[term]
        spent += cost
    return kept


def rank(queryset: QuerySet[Article], query: str, *, limit: int = 50, max_terms: int | None = None):
    """(article id, score) pairs, best first, and the query's terms."""
    weights, asked = _weights(query, max_terms=max_terms)
    if not weights:
        return [], asked
    documents, title_terms, body_terms = sql.read_stats()
    avg_title = max(title_terms / documents, 1.0)
    avg_body = max(body_terms / documents, 1.0)
    ranked = sql.score(
        queryset,
        weights,
        k1=K1,
        title_weight=TITLE_WEIGHT,
        title_norm=(1 - B_TITLE, B_TITLE / avg_title),
        body_norm=(1 - B_BODY, B_BODY / avg_body),
        limit=max(1, min(limit, MAX_LIMIT)),
    )
    return ranked, asked


# Links keep their text; headings, quotes, list marks, emphasis and table bars go.
_MARKDOWN = re.compile(
    r"!?\[([^\]]*)\]\([^)]*\)|^\s*(?:#+|>+|[-+*]|\d+\.)\s+|[*_`|]+",
    re.MULTILINE,
)
_BLANKS = re.compile(r"\s+")


def plain_body(article: Article) -> str:
    """The body as text for a snippet: Markdown marks and link targets dropped, one line."""
    _title, body = article_text(article)
    return _BLANKS.sub(" ", _MARKDOWN.sub(lambda match: match.group(1) or " ", body)).strip()


def _hits(queryset: QuerySet[Article], ranked: list[tuple[int, float]], terms: set[str]) -> list[SearchHit]:
    articles = queryset.in_bulk([article_id for article_id, _score in ranked])
    hits = []
    for article_id, value in ranked:
        article = articles.get(article_id)
        if article is None:
            continue
        hits.append(
            SearchHit(
                article=article,
                score=round(value, 6),
                title_html=highlight(article.title, terms),
                snippet_html=snippet(plain_body(article), terms),
            )
        )
    return hits


def search_articles(queryset: QuerySet[Article], query: str, *, limit: int = 50) -> list[SearchHit]:
    """The articles of ``queryset`` (the reader's, already filtered) that share a meaning-bearing
    word with ``query``, best first, with the title and a snippet highlighted: escaped text, the
    matched words in ``<mark>``."""
    ranked, terms = rank(queryset, query, limit=limit)
    return _hits(queryset, ranked, terms)


def suggest_articles(user, text: str, limit: int = 5) -> list[SearchHit]:
    """Published articles the user may read that answer the question being typed (问题咨询): the
    title and description so far, ranked by their most telling terms."""
    from .selectors import published_articles

    queryset = published_articles(user=user)
    ranked, terms = rank(queryset, text, limit=limit, max_terms=SUGGEST_TERMS)
    # A suggestion interrupts the asker: only articles close to the best one are worth it, not
    # those sharing one stray word with a long description.
    if ranked:
        floor = ranked[0][1] * SUGGEST_FLOOR
        ranked = [(article_id, value) for article_id, value in ranked if value >= floor]
    return _hits(queryset, ranked, terms)
