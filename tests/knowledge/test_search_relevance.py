"""Knowledge search finds paraphrases: the relevance set (tests/knowledge/relevance_corpus.py), at
least 38 of its questions with their article in the top 3, on whichever database the suite runs
(PostgreSQL in CI, SQLite by default), and the database's scores equal to the BM25F formula computed
here in Python from the index's own rows."""

from __future__ import annotations

import math

import pytest

from knowledge import search
from knowledge.models import ArticleSearchDoc, ArticleSearchStats, ArticleSearchTerm, ArticleSearchTermStat
from knowledge.search_text import query_terms
from knowledge.selectors import published_articles

from .relevance_corpus import ARTICLES, QUERIES

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(publish):
    ids = {}
    for key, (title, problem, steps, solution) in ARTICLES.items():
        ids[key] = publish(title=title, problem=problem, steps=steps, solution=solution).pk
    return ids


def _top(reader, query, limit=3):
    return [hit.article.pk for hit in search.search_articles(published_articles(user=reader), query, limit=limit)]


def test_at_least_38_of_the_questions_find_their_article_in_the_top_3(corpus, people):
    assert len(QUERIES) >= 40
    misses = []
    for query, key in QUERIES:
        top = _top(people.teacher, query)
        if corpus[key] not in top:
            names = {pk: name for name, pk in corpus.items()}
            misses.append(f"{query} → {[names[pk] for pk in top]} (wanted {key})")
    assert len(QUERIES) - len(misses) >= 38, "\n".join(misses)


def test_the_issue_examples_come_first(corpus, people):
    assert _top(people.teacher, "打印机连不上网络", 1) == [corpus["printer_network"]]
    assert _top(people.teacher, "投影仪没有信号", 1) == [corpus["projector_no_signal"]]


def test_every_question_is_worded_differently_from_its_article():
    for query, key in QUERIES:
        title = ARTICLES[key][0]
        assert query not in title and title not in query


def _reference_scores(query: str) -> dict[int, float]:
    """The BM25F formula of knowledge/search.py, in Python over the index rows."""
    stats = ArticleSearchStats.objects.get(pk=1)
    n = stats.documents
    avg_title, avg_body = max(stats.title_terms / n, 1.0), max(stats.body_terms / n, 1.0)
    frequencies = dict(ArticleSearchTermStat.objects.values_list("term", "documents"))
    asked = {term: weight for term, weight in query_terms(query).items() if term in frequencies}
    # Pruning of common terms starts at search.PRUNE_FROM articles, more than this corpus holds.
    assert n < search.PRUNE_FROM
    scores: dict[int, float] = {}
    for posting in ArticleSearchTerm.objects.filter(term__in=asked):
        df = frequencies[posting.term]
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        tfn = search.TITLE_WEIGHT * posting.tf_title / (
            1 - search.B_TITLE + search.B_TITLE * posting.title_len / avg_title
        ) + posting.tf_body / (1 - search.B_BODY + search.B_BODY * posting.body_len / avg_body)
        value = asked[posting.term] * idf * tfn * (search.K1 + 1) / (tfn + search.K1)
        scores[posting.article_id] = scores.get(posting.article_id, 0.0) + value
    return scores


@pytest.mark.parametrize("query", ["打印机连不上网络", "投影仪没有信号", "电脑特别慢 开机要好久", "c盘满了变红"])
def test_the_database_scores_are_the_formula(corpus, people, query):
    expected = _reference_scores(query)
    hits = search.search_articles(published_articles(user=people.teacher), query, limit=200)
    assert {hit.article.pk for hit in hits} == set(expected)
    for hit in hits:
        assert hit.score == pytest.approx(expected[hit.article.pk], rel=1e-9, abs=1e-6)
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)


def test_the_index_totals_match_a_rebuild(corpus):
    """Built article by article in the publishing transactions, the index equals a full rebuild."""
    before = (
        sorted(ArticleSearchTerm.objects.values_list("article_id", "term", "tf_title", "tf_body")),
        sorted(ArticleSearchTermStat.objects.values_list("term", "documents")),
        ArticleSearchStats.objects.values_list("documents", "title_terms", "body_terms").get(pk=1),
        ArticleSearchDoc.objects.count(),
    )
    assert search.rebuild_index() == len(ARTICLES)
    after = (
        sorted(ArticleSearchTerm.objects.values_list("article_id", "term", "tf_title", "tf_body")),
        sorted(ArticleSearchTermStat.objects.values_list("term", "documents")),
        ArticleSearchStats.objects.values_list("documents", "title_terms", "body_terms").get(pk=1),
        ArticleSearchDoc.objects.count(),
    )
    assert before == after
