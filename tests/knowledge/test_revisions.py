"""Edits of a published article wait for review (有待审核的修改): readers keep the published text by
every path until a reviewer of the owning unit, not the one who made the edit, approves it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Notification
from knowledge import search, selectors, services
from knowledge.models import Article, ArticleReview, ArticleSearchDoc, VersionStatus

pytestmark = pytest.mark.django_db

BASE = "/api/v1/knowledge/articles/"
SECRET = "打印服务器离线批处理"  # words only the pending edit holds


@pytest.fixture
def edited(people, publish):
    """A published 投影机 article with an edit by 海淀区's second agent waiting for review."""
    article = publish()
    services.article_update(
        user=people.agent2,
        article=article,
        data=services.ArticleInput.from_article(
            article,
            title=f"{SECRET}的处理",
            solution=f"重启{SECRET}。",
            tags=["打印"],
            note="改成打印服务器的内容",
        ),
    )
    return Article.objects.get(pk=article.pk)


def test_an_edit_waits_for_review_and_readers_keep_the_published_text(people, edited, client, auth_client):
    assert edited.pending_revision.status == VersionStatus.PENDING
    assert edited.title == "多媒体教室投影机显示无信号的排查" and SECRET not in edited.solution_html
    assert not edited.tags.exists()
    # The search index holds the published text only.
    assert selectors.pending_revision(user=people.teacher, article=edited) is None
    assert selectors.pending_revision(user=people.reviewer, article=edited).number == 2

    # Portal: the article page, the list, the search and the suggestions.
    client.force_login(people.teacher)
    page = client.get(reverse("knowledge:detail", args=[edited.pk])).content.decode()
    assert "多媒体教室投影机显示无信号的排查" in page and SECRET not in page and "kb-pending" not in page
    assert SECRET not in client.get(reverse("knowledge:index")).content.decode()
    found = client.get(reverse("knowledge:index"), {"q": "投影仪没有信号"}).content.decode()
    assert reverse("knowledge:detail", args=[edited.pk]) in found and SECRET not in found
    assert (
        reverse("knowledge:detail", args=[edited.pk])
        not in client.get(reverse("knowledge:index"), {"q": SECRET}).content.decode()
    )
    suggested = client.get(reverse("knowledge:suggest"), {"title": SECRET}).content.decode()
    assert SECRET not in suggested
    assert client.get(reverse("knowledge:version", args=[edited.pk, 2])).status_code == 404

    # API: detail, list, search, suggestions, versions.
    api = auth_client(people.teacher)
    detail = api.get(f"{BASE}{edited.pk}/").json()
    assert detail["title"] == edited.title and SECRET not in detail["solution"] + detail["solution_html"]
    assert detail["pending_revision"] is None and detail["version"] == 1 and detail["tags"] == []
    assert SECRET not in str(api.get(BASE).json())
    assert api.get(BASE, {"search": SECRET}).json()["results"] == []
    assert [row["id"] for row in api.get(BASE, {"search": "投影仪没有信号"}).json()["results"]] == [edited.pk]
    assert SECRET not in str(api.get("/api/v1/knowledge/suggestions/", {"q": SECRET}).json())
    assert api.get(f"{BASE}{edited.pk}/versions/2/").status_code == 404
    assert ArticleSearchDoc.objects.get(article=edited).version == 1
    # The catch-up task compares the published version with the index's: nothing to do.
    assert search.catch_up_index() == (0, 0)
    assert api.get(BASE, {"search": SECRET}).json()["results"] == []


def test_the_review_of_an_edit_is_scoped_and_checks_its_input(people, edited, auth_client, client):
    outsider = auth_client(people.tianjin_reviewer)
    assert outsider.post(f"{BASE}{edited.pk}/approve-revision/", {"version": 2}, format="json").status_code == 404
    assert outsider.get(f"{BASE}{edited.pk}/versions/2/").status_code == 404
    assert outsider.get(f"{BASE}review-queue/").json() == []
    client.force_login(people.tianjin_reviewer)
    assert client.get(reverse("knowledge:version", args=[edited.pk, 2])).status_code == 404
    reviewer = auth_client(people.reviewer)
    url = f"{BASE}{edited.pk}/approve-revision/"
    assert "version" in reviewer.post(url, {}, format="json").json()["fields"]
    assert "version" in reviewer.post(url, {"version": "two"}, format="json").json()["fields"]
    assert reviewer.post(url, {"version": 2, "colour": "red"}, format="json").status_code == 400
    long = reviewer.post(url, {"version": 2, "reason": "长" * 501}, format="json")
    assert long.status_code == 400 and "reason" in long.json()["fields"]
    assert Article.objects.get(pk=edited.pk).version == 1


def test_editors_see_the_pending_edit_with_its_diff(people, edited, client):
    client.force_login(people.author)
    page = client.get(reverse("knowledge:detail", args=[edited.pk])).content.decode()
    assert 'id="kb-pending"' in page and reverse("knowledge:version", args=[edited.pk, 2]) in page
    assert "有待审核的修改" in page
    assert "approve-revision" not in page  # an agent edits, it does not review
    # The pending version's diff is against the published text.
    diff = client.get(reverse("knowledge:version", args=[edited.pk, 2])).content.decode()
    assert SECRET in diff and "diff_" in diff
    # The editor starts from the pending edit, so a second edit does not lose it.
    form = client.get(reverse("knowledge:edit", args=[edited.pk])).content.decode()
    assert SECRET in form


def test_the_one_who_made_the_edit_never_approves_it(people, publish, auth_client, client):
    article = publish()
    services.article_update(
        user=people.reviewer,
        article=article,
        data=services.ArticleInput.from_article(article, solution="先检查线缆，再切换信号源。"),
    )
    article.refresh_from_db()
    assert "review_revision" not in selectors.article_capabilities(user=people.reviewer, article=article)
    with pytest.raises(ValidationError):
        services.revision_approve(user=people.reviewer, article=article, number=2)
    response = auth_client(people.reviewer).post(f"{BASE}{article.pk}/approve-revision/", {"version": 2}, format="json")
    assert response.status_code == 400 and "state" in response.json()["fields"]
    client.force_login(people.reviewer)
    assert (
        client.post(reverse("knowledge:action", args=[article.pk, "approve-revision"]), {"version": "2"}).status_code
        == 400
    )
    assert selectors.review_queue(user=people.reviewer).filter(pk=article.pk).count() == 0
    # Nor does an agent who cannot review; the city's administrator (a reviewer above) does.
    with pytest.raises(ValidationError):
        services.revision_approve(user=people.agent2, article=article, number=2)
    assert [row.pk for row in selectors.review_queue(user=people.city_admin)] == [article.pk]
    services.revision_approve(user=people.city_admin, article=article, number=2)
    article.refresh_from_db()
    assert article.solution == "先检查线缆，再切换信号源。" and article.version == 2


def test_approval_publishes_the_edit_reindexed_and_synced(people, edited, auth_client, settings):
    settings.DELTA_SYNC_SETTLE_SECONDS = 0
    reader = auth_client(people.teacher)
    token = reader.get(BASE).json()["sync_token"]
    # A pending edit changes nothing readers sync.
    assert reader.get(BASE, {"updated_after": token}).json()["results"] == []
    before = edited.updated_at
    services.revision_approve(user=people.reviewer, article=edited, number=2, reason="内容准确")
    article = Article.objects.get(pk=edited.pk)
    assert article.title == f"{SECRET}的处理" and SECRET in article.solution_html
    assert [tag.name for tag in article.tags.all()] == ["打印"]
    assert article.version == 2 and article.pending_revision is None and article.updated_at > before
    assert ArticleSearchDoc.objects.get(article=article).version == 2
    reader = auth_client(people.teacher)
    assert [row["id"] for row in reader.get(BASE, {"search": SECRET}).json()["results"]] == [article.pk]
    assert [row["id"] for row in reader.get(BASE, {"updated_after": token}).json()["results"]] == [article.pk]
    version = article.versions.get(number=2)
    assert (version.status, version.reviewed_by, version.review_reason) == (
        VersionStatus.APPROVED,
        people.reviewer,
        "内容准确",
    )
    assert ArticleReview.objects.filter(article=article, version=2, decision="approved").exists()


def test_rejection_keeps_the_published_text_and_the_refused_version(people, edited, auth_client, client):
    api = auth_client(people.reviewer)
    missing = api.post(f"{BASE}{edited.pk}/reject-revision/", {"version": 2}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()["fields"]
    done = api.post(f"{BASE}{edited.pk}/reject-revision/", {"version": 2, "reason": "与标题不符"}, format="json")
    assert done.status_code == 200, done.json()
    assert done.json()["title"] == "多媒体教室投影机显示无信号的排查" and done.json()["pending_revision"] is None
    article = Article.objects.get(pk=edited.pk)
    assert article.version == 1 and article.pending_revision is None and SECRET not in article.solution
    versions = {row["number"]: row for row in api.get(f"{BASE}{article.pk}/versions/").json()}
    assert versions[2]["status"] == "rejected" and versions[2]["review_reason"] == "与标题不符"
    assert versions[2]["reviewed_by"] == people.reviewer.name
    client.force_login(people.agent2)
    history = client.get(reverse("knowledge:history", args=[article.pk])).content.decode()
    assert 'data-status="rejected"' in history and "与标题不符" in history
    # Nothing is waiting any more.
    assert api.post(f"{BASE}{article.pk}/approve-revision/", {"version": 2}, format="json").status_code == 400


def test_a_newer_edit_supersedes_the_pending_one(people, edited, auth_client):
    services.article_update(
        user=people.author,
        article=edited,
        data=services.ArticleInput.from_article(edited, note="再改一次", steps="1. 检查打印服务器电源"),
    )
    article = Article.objects.get(pk=edited.pk)
    assert article.pending_revision.number == 3
    # Built on the pending edit, not on the published text.
    assert SECRET in article.pending_revision.title
    assert article.versions.get(number=2).status == VersionStatus.SUPERSEDED
    # The reviewer who read version 2 is told it was replaced, instead of approving unseen text.
    stale = auth_client(people.reviewer).post(f"{BASE}{article.pk}/approve-revision/", {"version": 2}, format="json")
    assert stale.status_code == 400 and "version" in stale.json()["fields"]
    assert Article.objects.get(pk=article.pk).version == 1


def test_the_review_queue_lists_new_articles_and_edits(people, edited, write, auth_client, client):
    draft = write(title="交换机端口不通的排查")
    services.article_submit(user=people.author, article=draft)
    queue = auth_client(people.reviewer).get(f"{BASE}review-queue/")
    assert queue.status_code == 200
    kinds = {row["id"]: (row["review_kind"], row["pending_revision"]) for row in queue.json()}
    assert kinds == {edited.pk: ("revision", 2), draft.pk: ("new", None)}
    client.force_login(people.reviewer)
    page = client.get(reverse("knowledge:review")).content.decode()
    assert 'data-kind="revision"' in page and 'data-kind="new"' in page
    assert reverse("knowledge:version", args=[edited.pk, 2]) in page
    # The one who made the edit does not find it in its queue.
    assert [row["id"] for row in auth_client(people.agent2).get(f"{BASE}review-queue/").json()] == []


def test_reviewers_are_told_of_an_edit_and_the_editor_of_the_decision(people, edited):
    told = Notification.objects.filter(kind="knowledge.review_requested", subject_id=edited.pk)
    assert set(told.values_list("user_id", flat=True)) == {people.reviewer.pk}
    services.revision_reject(user=people.reviewer, article=edited, number=2, reason="请补充步骤")
    told = told.filter(title__contains=edited.title).exclude(body="")
    assert told.get().body == "改成打印服务器的内容"  # the editor's note
    decisions = Notification.objects.filter(kind="knowledge.reviewed", subject_id=edited.pk, body="请补充步骤")
    assert list(decisions.values_list("user_id", flat=True)) == [people.agent2.pk]


def test_a_scope_change_waits_for_review_too(people, publish, tree, client):
    article = publish()
    services.article_update(
        user=people.author,
        article=article,
        data=services.ArticleInput.from_article(article, scope_unit=tree.school_b),
    )
    client.force_login(people.teacher)
    assert client.get(reverse("knowledge:detail", args=[article.pk])).status_code == 200
    services.revision_approve(user=people.reviewer, article=article)
    assert client.get(reverse("knowledge:detail", args=[article.pk])).status_code == 404


def test_drafts_change_at_once_and_archive_drops_a_pending_edit(people, write, edited):
    draft = write()
    services.article_update(
        user=people.author, article=draft, data=services.ArticleInput.from_article(draft, title="草稿直接修改")
    )
    draft.refresh_from_db()
    assert draft.title == "草稿直接修改" and draft.version == 2 and draft.pending_revision is None
    services.article_archive(user=people.author, article=edited)
    article = Article.objects.get(pk=edited.pk)
    assert article.pending_revision is None
    assert article.versions.get(number=2).status == VersionStatus.SUPERSEDED


def test_the_portal_approves_an_edit_from_its_diff(people, edited, client):
    client.force_login(people.reviewer)
    page = client.get(reverse("knowledge:version", args=[edited.pk, 2])).content.decode()
    assert reverse("knowledge:action", args=[edited.pk, "approve-revision"]) in page
    response = client.post(
        reverse("knowledge:action", args=[edited.pk, "reject-revision"]), {"version": "2", "reason": ""}
    )
    assert response.status_code == 400  # a refusal needs its reason
    response = client.post(
        reverse("knowledge:action", args=[edited.pk, "approve-revision"]), {"version": "2", "reason": ""}
    )
    assert response.status_code == 302
    assert Article.objects.get(pk=edited.pk).title == f"{SECRET}的处理"


def test_a_pending_edit_is_sanitised_on_every_page(people, publish, client):
    from tests.knowledge.test_markdown import active_content

    article = publish()
    payload = '换线<script>alert(1)</script><img src=x onerror="alert(2)"> [点我](javascript:alert(3))'
    services.article_update(
        user=people.author, article=article, data=services.ArticleInput.from_article(article, solution=payload)
    )
    client.force_login(people.reviewer)
    page = client.get(reverse("knowledge:version", args=[article.pk, 2])).content.decode()
    diff = page[page.index('class="card kb-diff"') :]
    assert "&lt;script&gt;" in diff and active_content(diff[: diff.index("</section>")]) == []
    services.revision_approve(user=people.reviewer, article=article, number=2)
    page = client.get(reverse("knowledge:detail", args=[article.pk])).content.decode()
    body = page[page.index('id="kb-solution"') : page.index("</div>", page.index('id="kb-solution"'))]
    assert "&lt;script&gt;alert(1)" in body and active_content(body) == []
    assert active_content(Article.objects.get(pk=article.pk).solution_html) == []
