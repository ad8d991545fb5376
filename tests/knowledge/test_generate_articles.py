"""generate_articles: published articles with a first version, national or under a county, found by
search once the index is rebuilt."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from knowledge import search
from knowledge.models import Article, ArticleState, ArticleVersion
from knowledge.selectors import published_articles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_generated_articles_are_published_versioned_and_searchable(tree, people):
    UserFactory(username="kb_root", unit=tree.root, is_superuser=True, is_staff=True)
    out = StringIO()
    call_command("generate_articles", articles=60, scope_share=0.5, seed=1, verbosity=0, stdout=out)
    assert "Generated 60 published articles" in out.getvalue()
    articles = Article.objects.all()
    assert articles.count() == 60
    assert set(articles.values_list("state", flat=True)) == {ArticleState.PUBLISHED}
    assert ArticleVersion.objects.filter(number=1).count() == 60
    assert articles.filter(scope_path="").exists() and articles.exclude(scope_path="").exists()
    assert search.rebuild_index() == 60
    hits = search.search_articles(published_articles(user=people.ministry_author), "无法开机 投影仪", limit=5)
    assert hits and all(hit.score > 0 for hit in hits)


def test_without_an_author_it_says_what_to_do(tree):
    with pytest.raises(CommandError, match="superuser"):
        call_command("generate_articles", articles=1, verbosity=0)
