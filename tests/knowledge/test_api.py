"""/api/v1/knowledge/: the knowledge base over the API."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from knowledge import services
from knowledge.models import Article, Category

pytestmark = pytest.mark.django_db

BASE = "/api/v1/knowledge/articles/"


def test_write_submit_review_and_read(people, auth_client, tree):
    category = Category.objects.create(name="多媒体设备")
    client = auth_client(people.author)
    created = client.post(
        BASE,
        {
            "title": "投影仪没有信号怎么办",
            "problem": "投影仪显示**无信号**",
            "solution": "切换信号源",
            "category": category.pk,
            "tags": ["投影"],
            "ticket_types": ["hardware"],
            "scope_unit": tree.haidian.pk,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["state"] == "draft" and body["version"] == 1
    assert body["problem_html"] == "<p>投影仪显示<strong>无信号</strong></p>\n"
    assert "submit" in body["capabilities"]
    pk = body["id"]
    assert client.post(f"{BASE}{pk}/submit/", {}, format="json").json()["state"] == "pending_review"

    reviewer = auth_client(people.reviewer)
    queue = reviewer.get(BASE, {"article_state": "pending_review"}).json()["results"]
    assert [row["id"] for row in queue] == [pk]
    rejected = reviewer.post(f"{BASE}{pk}/reject/", {"reason": ""}, format="json")
    assert rejected.status_code == 400 and "reason" in rejected.json()["fields"]
    published = reviewer.post(f"{BASE}{pk}/approve/", {}, format="json")
    assert published.json()["state"] == "published"

    reader = auth_client(people.teacher)
    listed = reader.get(BASE).json()
    assert [row["id"] for row in listed["results"]] == [pk]
    assert listed["sync_token"]
    detail = reader.get(f"{BASE}{pk}/").json()
    assert detail["views"] == 1 and detail["capabilities"] == ["vote"]
    voted = reader.post(f"{BASE}{pk}/vote/", {"helpful": True}, format="json").json()
    assert voted["helpful_count"] == 1 and voted["my_vote"] is True


def test_scope_by_id_is_404_attachments_and_versions_too(people, auth_client, publish, write):
    article = publish()
    draft = write()
    upload = SimpleUploadedFile("说明.txt", "重启路由器".encode(), content_type="text/plain")
    attachment = services.attachment_add(user=people.author, article=article, upload=upload)
    outsider = auth_client(people.tianjin_teacher)
    for url in (
        f"{BASE}{article.pk}/",
        f"{BASE}{article.pk}/attachments/",
        f"{BASE}{article.pk}/attachments/{attachment.pk}/download/",
        f"{BASE}{article.pk}/versions/",
    ):
        assert outsider.get(url).status_code == 404, url
    assert outsider.post(f"{BASE}{article.pk}/vote/", {"helpful": True}, format="json").status_code == 404
    reader = auth_client(people.teacher)
    assert reader.get(f"{BASE}{draft.pk}/").status_code == 404
    assert reader.get(f"{BASE}{article.pk}/versions/").status_code == 404
    download = reader.get(f"{BASE}{article.pk}/attachments/{attachment.pk}/download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == "重启路由器".encode()


def test_bad_input_is_400_with_field_messages(people, auth_client, tree):
    client = auth_client(people.author)
    response = client.post(
        BASE,
        {"title": "长" * 201, "problem": "x", "solution": "y", "category": 999999, "colour": "red"},
        format="json",
    )
    assert response.status_code == 400
    assert "colour" in response.json()["fields"]
    response = client.post(BASE, {"title": "长" * 201, "problem": "x", "solution": "y"}, format="json")
    assert response.status_code == 400 and "title" in response.json()["fields"]
    response = client.post(
        BASE,
        {"title": "t", "problem": "x", "solution": "y", "category": 999999, "scope_unit": tree.haidian.pk},
        format="json",
    )
    assert response.status_code == 400 and "category" in response.json()["fields"]
    response = client.post(BASE, {"title": "t", "problem": "x", "solution": "y"}, format="json")
    assert response.status_code == 400 and "scope_unit" in response.json()["fields"]
    assert client.get(BASE, {"sort": "random"}).status_code == 400
    assert client.get(BASE, {"colour": "red"}).status_code == 400
    assert client.get(BASE, {"search": "!!!"}).status_code == 400
    assert Article.objects.count() == 0


def test_edit_versions_diff_and_restore(people, auth_client, publish):
    article = publish()
    client = auth_client(people.author)
    edited = client.patch(f"{BASE}{article.pk}/", {"solution": "更换 HDMI 线", "note": "换线"}, format="json").json()
    # The edit waits for review: the article still shows the published text, the revision beside it.
    assert edited["version"] == 1 and edited["state"] == "published"
    assert edited["solution"] == article.solution
    assert edited["pending_revision"]["number"] == 2 and edited["pending_revision"]["status"] == "pending"
    reviewer = auth_client(people.reviewer)
    approved = reviewer.post(f"{BASE}{article.pk}/approve-revision/", {"version": 2}, format="json")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["version"] == 2 and approved.json()["solution"] == "更换 HDMI 线"
    assert approved.json()["pending_revision"] is None
    client = auth_client(people.author)
    versions = client.get(f"{BASE}{article.pk}/versions/").json()
    assert [(v["number"], v["status"]) for v in versions] == [(2, "approved"), (1, "saved")]
    second = client.get(f"{BASE}{article.pk}/versions/2/").json()
    assert second["diff"] and "HDMI" in second["diff"][0]["html"]
    restored = client.post(f"{BASE}{article.pk}/restore/", {"version": 1}, format="json").json()
    assert restored["version"] == 2 and restored["pending_revision"]["number"] == 3
    assert restored["pending_revision"]["note"]
    reviewer = auth_client(people.reviewer)
    done = reviewer.post(f"{BASE}{article.pk}/approve-revision/", {"version": 3}, format="json").json()
    assert done["version"] == 3 and done["solution"] == article.solution


def test_from_ticket_and_source_link_by_who_may_see_it(people, auth_client, resolved_ticket):
    ticket = resolved_ticket()
    created = auth_client(people.author).post(f"{BASE}from-ticket/", {"ticket": ticket.pk}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["source_ticket"] == {"id": ticket.pk, "number": ticket.number}
    article = Article.objects.get(pk=body["id"])
    services.article_submit(user=people.author, article=article)
    services.article_approve(user=people.reviewer, article=article)
    other_school = auth_client(people.teacher_b).get(f"{BASE}{article.pk}/").json()
    assert other_school["source_ticket"] is None
    # The ticket's side: its articles, as each reader may see them.
    assert [row["id"] for row in auth_client(people.reviewer).get(BASE, {"ticket": ticket.pk}).json()["results"]] == [
        article.pk
    ]
    assert auth_client(people.tianjin_teacher).get(BASE, {"ticket": ticket.pk}).json()["results"] == []
    refused = auth_client(people.teacher).post(f"{BASE}from-ticket/", {"ticket": ticket.pk}, format="json")
    assert refused.status_code == 400 and "ticket" in refused.json()["fields"]


def test_search_best_match_first_with_highlights(people, auth_client, publish):
    publish(title="打印机卡纸的处理", problem="打印机经常卡纸", solution="清理搓纸轮")
    best = publish(title="投影机无信号排查", problem="投影机显示无信号", solution="切换信号源")
    response = auth_client(people.teacher).get(BASE, {"search": "投影机无信号"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0]["id"] == best.pk
    assert "<mark>" in results[0]["title_html"]


def test_delta_sync_reports_changes_and_archived(people, auth_client, publish, settings, tree):
    settings.DELTA_SYNC_SETTLE_SECONDS = 0
    first = publish(title="旧文章")
    moved = publish(title="换范围的文章")
    client = auth_client(people.teacher)
    listed = client.get(BASE).json()
    assert {row["id"] for row in listed["results"]} == {first.pk, moved.pk}
    token = listed["sync_token"]
    services.article_archive(user=people.author, article=first)
    services.article_update(
        user=people.author, article=moved, data=services.ArticleInput.from_article(moved, scope_unit=tree.school_b)
    )
    services.revision_approve(user=people.reviewer, article=moved)
    fresh = publish(title="新文章")
    delta = client.get(BASE, {"updated_after": token})
    assert delta.status_code == 200, delta.json()
    body = delta.json()
    assert [row["id"] for row in body["results"]] == [fresh.pk]
    assert set(body["removed"]) == {first.pk, moved.pk}
    assert client.get(BASE, {"updated_after": token, "sort": "views"}).status_code == 400


def test_the_api_index_lists_the_knowledge_base(api_client):
    resources = api_client.get("/api/v1/").json()["resources"]
    assert resources["knowledge_articles"].endswith("/api/v1/knowledge/articles/")
