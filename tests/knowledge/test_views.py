"""The knowledge base's portal pages."""

import pytest
from django.urls import reverse

from knowledge import services
from knowledge.models import Article, ArticleState, Category

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


def test_the_navigation_links_the_knowledge_base(login, people):
    page = login(people.teacher).get(reverse("knowledge:index"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="{reverse("knowledge:index")}" aria-current="page"' in html


def test_browse_by_category_and_search_with_highlights(login, people, publish):
    category = Category.objects.create(name="多媒体设备")
    publish(title="投影机无信号排查", category=category)
    publish(title="打印机卡纸处理", problem="打印机卡纸", solution="清理搓纸轮")
    client = login(people.teacher)
    page = client.get(reverse("knowledge:index"), {"category": category.pk}).content.decode()
    assert "投影机无信号排查" in page and "打印机卡纸处理" not in page
    found = client.get(reverse("knowledge:index"), {"q": "投影机"}).content.decode()
    assert "<mark>" in found and "打印机卡纸处理" not in found
    assert client.get(reverse("knowledge:index"), {"q": "!!!"}).status_code == 400
    assert client.get(reverse("knowledge:index"), {"sort": "nonsense"}).status_code == 400


def test_article_page_counts_views_votes_and_hides_others(login, people, publish):
    article = publish()
    client = login(people.teacher)
    page = client.get(reverse("knowledge:detail", args=[article.pk]))
    assert page.status_code == 200 and "<strong>无信号</strong>" in page.content.decode()
    client.post(reverse("knowledge:vote", args=[article.pk]), {"helpful": "1"})
    article.refresh_from_db()
    assert article.views == 1 and article.helpful_count == 1
    assert login(people.tianjin_teacher).get(reverse("knowledge:detail", args=[article.pk])).status_code == 404


def test_write_preview_submit_review_reject_and_approve(login, people, tree):
    client = login(people.author)
    preview = client.post(reverse("knowledge:preview"), {"title": "t", "problem": "<script>x</script>**粗**"})
    assert "<script>" not in preview.content.decode() and "<strong>粗</strong>" in preview.content.decode()
    bad = client.post(
        reverse("knowledge:create"),
        {"title": "长" * 201, "problem": "", "solution": "s", "unit": tree.haidian.pk, "scope": tree.haidian.pk},
    )
    assert bad.status_code == 400 and Article.objects.count() == 0
    created = client.post(
        reverse("knowledge:create"),
        {
            "title": "电子白板触控失灵",
            "problem": "白板点不准",
            "solution": "重新校准",
            "unit": tree.haidian.pk,
            "scope": tree.haidian.pk,
            "tags": "白板，触控",
        },
    )
    article = Article.objects.get()
    assert created.status_code == 302 and sorted(t.name for t in article.tags.all()) == ["白板", "触控"]
    client.post(reverse("knowledge:action", args=[article.pk, "submit"]))
    reviewer = login(people.reviewer)
    queue = reviewer.get(reverse("knowledge:review")).content.decode()
    assert "电子白板触控失灵" in queue
    refused = reviewer.post(reverse("knowledge:action", args=[article.pk, "reject"]), {"reason": ""})
    assert refused.status_code == 400
    reviewer.post(reverse("knowledge:action", args=[article.pk, "reject"]), {"reason": "请补充校准步骤"})
    article.refresh_from_db()
    assert article.state == ArticleState.DRAFT
    assert "请补充校准步骤" in login(people.author).get(reverse("knowledge:detail", args=[article.pk])).content.decode()
    services.article_submit(user=people.author, article=article)
    login(people.reviewer).post(reverse("knowledge:action", args=[article.pk, "approve"]), {"reason": ""})
    article.refresh_from_db()
    assert article.state == ArticleState.PUBLISHED


def test_history_diff_and_restore_pages(login, people, publish):
    article = publish()
    services.article_update(
        user=people.author, article=article, data=services.ArticleInput.from_article(article, solution="更换线缆")
    )
    services.revision_approve(user=people.reviewer, article=article, number=2)
    client = login(people.author)
    assert "v2" in client.get(reverse("knowledge:history", args=[article.pk])).content.decode()
    diff = client.get(reverse("knowledge:version", args=[article.pk, 2])).content.decode()
    assert "diff_add" in diff or "diff_chg" in diff
    client.post(reverse("knowledge:action", args=[article.pk, "restore"]), {"version": "1"})
    article.refresh_from_db()
    # Restored as an edit waiting for review: readers keep version 2 until the reviewer approves.
    assert article.version == 2 and article.solution == "更换线缆"
    assert article.pending_revision.number == 3 and article.pending_revision.solution.startswith("按遥控器")
    login(people.reviewer).post(
        reverse("knowledge:action", args=[article.pk, "approve-revision"]), {"version": "3", "reason": ""}
    )
    article.refresh_from_db()
    assert article.version == 3 and article.solution.startswith("按遥控器")
    assert login(people.teacher).get(reverse("knowledge:history", args=[article.pk])).status_code == 404


def test_the_ticket_page_offers_it_and_shows_the_link(login, people, resolved_ticket):
    ticket = resolved_ticket()
    staff = login(people.author)
    page = staff.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert reverse("knowledge:from_ticket", args=[ticket.pk]) in page
    made = staff.post(reverse("knowledge:from_ticket", args=[ticket.pk]))
    article = Article.objects.get()
    assert made.status_code == 302 and made.url == reverse("knowledge:edit", args=[article.pk])
    page = staff.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert reverse("knowledge:detail", args=[article.pk]) in page
    # The asker is not support staff: no button.
    asker_page = login(people.teacher).get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert reverse("knowledge:from_ticket", args=[ticket.pk]) not in asker_page
    refused = login(people.teacher).post(reverse("knowledge:from_ticket", args=[ticket.pk]))
    assert refused.status_code == 302 and Article.objects.count() == 1
    # (One test client: sign the author in again.)
    article_page = login(people.author).get(reverse("knowledge:detail", args=[article.pk])).content.decode()
    assert ticket.number in article_page


def test_attachments_outside_the_scope_are_404(login, people, publish):
    from django.core.files.uploadedfile import SimpleUploadedFile

    article = publish()
    upload = SimpleUploadedFile("步骤.txt", "先重启".encode(), content_type="text/plain")
    attachment = services.attachment_add(user=people.author, article=article, upload=upload)
    url = reverse("knowledge:attachment", args=[article.pk, attachment.pk])
    assert login(people.teacher).get(url).status_code == 200
    assert login(people.tianjin_teacher).get(url).status_code == 404


def test_suggestions_while_asking_and_solved_without_a_ticket(login, people, publish):
    from knowledge.models import SelfSolved
    from tickets.models import Ticket

    article = publish(title="网络打印机无法连接的处理方法", problem="打印机脱机，电脑无法打印", solution="设置固定 IP")
    client = login(people.teacher)
    form = client.get(reverse("tickets:create")).content.decode()
    assert reverse("knowledge:suggest") in form
    page = client.get(reverse("knowledge:suggest"), {"title": "打印机连不上网络", "description": ""}).content.decode()
    assert reverse("knowledge:detail", args=[article.pk]) in page and "<mark>" in page
    assert client.get(reverse("knowledge:suggest"), {"title": "!!!"}).content.decode().strip() == ""
    done = client.post(
        reverse("knowledge:solved", args=[article.pk]), {"question": "打印机连不上网络"}, HTTP_HX_REQUEST="true"
    )
    assert done.status_code == 200
    assert SelfSolved.objects.filter(article=article, user=people.teacher).count() == 1
    assert Ticket.objects.count() == 0
    # Not readable: 404.
    assert login(people.tianjin_teacher).post(reverse("knowledge:solved", args=[article.pk])).status_code == 404


def test_the_list_filters_by_owning_unit_and_tag(login, people, publish, write, tree):
    from knowledge import services as kb_services

    county = publish(title="海淀区的文章", tags=["投影"])
    national = write(user=people.ministry_author, owner=tree.root, scope_unit=None, title="全国的文章")
    kb_services.article_submit(user=people.ministry_author, article=national)
    kb_services.article_approve(user=people.ministry_reviewer, article=national)
    client = login(people.teacher)
    page = client.get(reverse("knowledge:index"), {"unit": tree.haidian.pk}).content.decode()
    assert county.title in page and "全国的文章" not in page
    page = client.get(reverse("knowledge:index"), {"tag": "投影"}).content.decode()
    assert county.title in page and "全国的文章" not in page
    # A unit that is not the reader's to filter by is refused, not a 500.
    assert client.get(reverse("knowledge:index"), {"unit": tree.tianjin.pk}).status_code == 400
