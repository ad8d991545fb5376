"""The knowledge base's back office: categories and tags edited there; articles read there (their
text, versions and reviews) and archived through the service, never edited around the workflow."""

from __future__ import annotations

import pytest
from django.urls import reverse

from knowledge import services
from knowledge.models import Article, ArticleSearchDoc, ArticleState, Category
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client, tree):
    user = UserFactory(username="kb_admin_site", unit=tree.root, is_superuser=True, is_staff=True)
    client.force_login(user)
    return client


def test_categories_are_edited_in_the_back_office(admin):
    response = admin.post(reverse("admin:knowledge_category_add"), {"name": "多媒体设备", "order": 1})
    assert response.status_code == 302
    hardware = Category.objects.get(name="多媒体设备")
    admin.post(reverse("admin:knowledge_category_add"), {"name": "投影机", "parent": hardware.pk, "order": 0})
    assert Category.objects.get(name="投影机").parent == hardware
    # A second root of the same name is refused with a message, not a 500.
    again = admin.post(reverse("admin:knowledge_category_add"), {"name": "多媒体设备", "order": 2})
    assert again.status_code == 200 and Category.objects.filter(name="多媒体设备").count() == 1
    listing = admin.get(reverse("admin:knowledge_category_changelist")).content.decode()
    assert "多媒体设备" in listing and "投影机" in listing
    assert admin.get(reverse("admin:knowledge_tag_changelist")).status_code == 200


def test_articles_are_read_and_archived_through_the_service(admin, publish, people):
    article = publish()
    listing = admin.get(reverse("admin:knowledge_article_changelist"), {"state": "published"})
    assert listing.status_code == 200 and article.title in listing.content.decode()
    page = admin.get(reverse("admin:knowledge_article_change", args=[article.pk])).content.decode()
    assert (article.title in page and "article version" in page.lower()) or "文章版本" in page
    assert admin.get(reverse("admin:knowledge_article_add")).status_code == 403
    # An edit waiting for review shows in the versions with its status.
    services.article_update(
        user=people.author, article=article, data=services.ArticleInput.from_article(article, solution="换线")
    )
    page = admin.get(reverse("admin:knowledge_article_change", args=[article.pk])).content.decode()
    assert "待审核" in page
    # The text is read-only here: a POST changes nothing.
    admin.post(reverse("admin:knowledge_article_change", args=[article.pk]), {"title": "改掉"})
    assert Article.objects.get(pk=article.pk).title == article.title
    response = admin.post(
        reverse("admin:knowledge_article_changelist"),
        {"action": "archive", "_selected_action": [article.pk]},
    )
    assert response.status_code == 302
    assert Article.objects.get(pk=article.pk).state == ArticleState.ARCHIVED
    # Through the service: out of the search index as well.
    assert not ArticleSearchDoc.objects.filter(article=article).exists()
