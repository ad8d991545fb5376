"""可能重复: writing an article on a fault the knowledge base already covers shows the published
articles that say it (editor preview, article page of a draft or of a pending edit, API); the
article generator leaves such topics out, as a reviewer would refuse them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from knowledge import search, services
from knowledge.duplicates import DUPLICATE_SHARE, similar_articles
from knowledge.models import Article
from knowledge.selectors import published_articles
from tests.factories import UserFactory
from tests.knowledge.relevance_corpus import ARTICLES

pytestmark = pytest.mark.django_db

BASE = "/api/v1/knowledge/articles/"


def _corpus(publish, *keys):
    """The relevance set's articles (all by default): a knowledge base of some size, so that what a
    word is worth (its IDF) means something."""
    made = {}
    for key in keys or ARTICLES:
        title, problem, steps, solution = ARTICLES[key]
        made[key] = publish(title=title, problem=problem, steps=steps, solution=solution)
    return made


def test_the_same_fault_is_similar_another_fault_is_not(people, publish):
    made = _corpus(publish)
    readable = published_articles(user=people.author)
    same = similar_articles(
        readable, title="办公室打印机脱机", body="老师们的电脑上打印机显示脱机，打印任务一直在排队。"
    )
    assert [hit.article.pk for hit in same] == [made["printer_network"].pk]
    assert DUPLICATE_SHARE <= same[0].similarity <= 1.0
    # Another device and fault: nothing to warn about.
    assert similar_articles(readable, title="校车定位终端不上报位置", body="校车上的定位终端三天没有上报位置。") == []
    # The relevance set's articles, each a different case, are not duplicates of each other (the
    # closest pair, 忘记密码 and 登录失败 on the same platform, scores about half the threshold).
    for article in made.values():
        others = readable.exclude(pk=article.pk)
        assert similar_articles(others, title=article.title, body=article.problem) == []


def test_the_editor_preview_and_the_draft_page_warn(people, publish, write, client, auth_client):
    made = _corpus(publish, "projector_no_signal")
    client.force_login(people.agent2)
    preview = client.post(
        reverse("knowledge:preview"),
        {"title": "投影仪没有信号怎么办", "problem": "投影机开机后幕布提示无信号，电脑画面投不上去。", "solution": "x"},
    ).content.decode()
    assert 'id="kb-duplicates"' in preview and "可能重复" in preview
    assert reverse("knowledge:detail", args=[made["projector_no_signal"].pk]) in preview
    # Editing the article itself is no duplicate of itself.
    edit_preview = client.post(
        reverse("knowledge:preview") + f"?article={made['projector_no_signal'].pk}",
        {"title": made["projector_no_signal"].title, "problem": made["projector_no_signal"].problem},
    ).content.decode()
    assert "kb-duplicates" not in edit_preview

    draft = write(title="投影仪没有信号怎么办", problem="投影机开机后幕布提示无信号，电脑画面投不上去。")
    services.article_submit(user=people.author, article=draft)
    client.force_login(people.reviewer)
    page = client.get(reverse("knowledge:detail", args=[draft.pk])).content.decode()
    assert 'id="kb-duplicates"' in page
    detail = auth_client(people.reviewer).get(f"{BASE}{draft.pk}/").json()
    assert [row["id"] for row in detail["possible_duplicates"]] == [made["projector_no_signal"].pk]
    assert 0.5 <= detail["possible_duplicates"][0]["similarity"] <= 1.0
    # Published articles and readers: no warning.
    assert (
        auth_client(people.teacher).get(f"{BASE}{made['projector_no_signal'].pk}/").json()["possible_duplicates"] == []
    )


def test_the_generator_leaves_out_topics_the_knowledge_base_covers(tree, people, publish):
    _corpus(publish)
    UserFactory(username="kb_root", unit=tree.root, is_superuser=True, is_staff=True)
    out = StringIO()
    call_command("generate_articles", articles=300, seed=3, verbosity=1, stdout=out)
    assert "Left out 投影机无法开机: probable duplicate of “投影机通电后不能开机、电源灯闪烁”" in out.getvalue()
    generated = Article.objects.filter(versions__note="generate_articles")
    assert generated.count() == 300
    assert not generated.filter(title__contains="投影机无法开机").exists()
    # Topics the knowledge base does not hold are still written.
    assert generated.filter(title__contains="服务器无法访问").exists()
    # Without the check, the topic comes back.
    call_command("generate_articles", articles=300, seed=3, verbosity=0, allow_duplicates=True, stdout=StringIO())
    assert Article.objects.filter(title__contains="投影机无法开机").exists()
    assert search.rebuild_index() == 600 + len(ARTICLES)
