"""The knowledge base in Chromium, at a laptop's 1366×900 and a phone's 390×844: an agent writes an
article and previews it, a reviewer publishes it, a teacher finds it by other words with the match
highlighted, opens it and votes; the author edits it, the edit waits for review (the teacher keeps the
published text) and the reviewer approves it from its diff. Screenshots go to
test-artifacts/ for a person to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from knowledge.models import Article, Category
from tests.factories import UserFactory, grant

from .test_responsive import LAPTOP, PHONE, assert_no_sideways_scroll, open_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SIZES = {"laptop": LAPTOP, "phone": PHONE}


@pytest.fixture
def kb(tree, teacher):
    agent = UserFactory(username="kb_b_agent", name="刘洋", unit=tree.haidian, user_type="staff")
    grant(agent, tree.haidian, Role.SUPPORT_AGENT)
    reviewer = UserFactory(username="kb_b_reviewer", name="审核员", unit=tree.haidian, user_type="staff")
    grant(reviewer, tree.haidian, Role.ANSWER_REVIEWER)
    hardware = Category.objects.create(name="多媒体设备")
    Category.objects.create(name="投影机", parent=hardware)
    Category.objects.create(name="网络")
    return {"agent": agent, "reviewer": reviewer, "teacher": teacher}


@pytest.mark.parametrize("size", SIZES)
def test_write_review_find_read_and_vote(new_page, live_server, kb, screenshot, size, tree):
    viewport = SIZES[size]
    page = open_as(new_page, live_server, kb["agent"], viewport)
    page.goto("/")
    if size == "phone":
        page.get_by_role("button", name="菜单").click()
    page.locator(".mainnav").get_by_role("link", name="知识库").click()
    expect(page.get_by_role("heading", name="知识库", exact=True)).to_be_visible()
    page.get_by_role("link", name="撰写文章").click()
    page.get_by_label("标题").fill("多媒体教室投影机显示无信号的排查")
    page.get_by_label("问题描述").fill("投影机开机后画面提示**无信号**。<script>alert(1)</script>")
    page.get_by_label("排查步骤").fill("1. 检查 HDMI 线是否松动\n2. 用遥控器切换信号源")
    page.get_by_label("解决方法").fill("按遥控器的 Source 键切换到 HDMI1。")
    page.get_by_label("分类").select_option(label="\u3000投影机")
    page.get_by_label("标签").fill("投影机，HDMI")
    page.get_by_role("button", name="预览").click()
    preview = page.locator("#kb-preview")
    expect(preview.locator("strong")).to_have_text("无信号")
    expect(preview).to_contain_text("<script>alert(1)</script>")
    assert_no_sideways_scroll(page, "the editor")
    screenshot(page, f"knowledge-editor-{size}")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".messages")).to_contain_text("草稿已保存")
    page.get_by_role("button", name="提交审核").click()
    expect(page.locator(".kb-meta [data-state]")).to_have_text("待审核")

    page = open_as(new_page, live_server, kb["reviewer"], viewport)
    page.goto("/knowledge/review/")
    page.locator("#kb-review-queue").get_by_role("link", name="多媒体教室投影机显示无信号的排查").click()
    page.get_by_role("button", name="通过并发布").click()
    expect(page.locator(".kb-meta [data-state]")).to_have_text("已发布")

    page = open_as(new_page, live_server, kb["teacher"], viewport)
    page.goto("/knowledge/")
    # Browse by category: the parent category lists its subcategory's article; another does not.
    page.locator(".kb-categories").get_by_role("link", name="多媒体设备").click()
    expect(page.locator(".kb-categories [aria-current]")).to_have_text("多媒体设备")
    expect(page.locator(".kb-item .kb-title")).to_have_text(["多媒体教室投影机显示无信号的排查"])
    page.locator(".kb-categories").get_by_role("link", name="网络").click()
    expect(page.locator(".kb-item")).to_have_count(0)
    screenshot(page, f"knowledge-browse-{size}")
    page.goto("/knowledge/")
    page.get_by_placeholder("描述问题").fill("投影机无信号")
    page.get_by_role("button", name="搜索", exact=True).click()
    hit = page.locator(".kb-item").first
    expect(hit.locator("mark").first).to_be_visible()
    assert_no_sideways_scroll(page, "the search results")
    screenshot(page, f"knowledge-search-{size}")
    hit.locator(".kb-title").click()
    expect(page.get_by_role("heading", name="多媒体教室投影机显示无信号的排查")).to_be_visible()
    expect(page.locator("#kb-problem strong")).to_have_text("无信号")
    page.locator("#kb-vote").get_by_role("button", name="有帮助").click()
    expect(page.locator("#kb-vote [data-count=helpful]")).to_have_text("1")
    assert_no_sideways_scroll(page, "the article")
    screenshot(page, f"knowledge-article-{size}")

    article = Article.objects.get()
    assert article.views == 1 and article.helpful_count == 1

    page = open_as(new_page, live_server, kb["agent"], viewport)
    page.goto(f"/knowledge/{article.pk}/edit/")
    page.get_by_label("解决方法").fill("按遥控器的 Source 键切换到 HDMI1；仍无信号则更换 HDMI 线。")
    page.get_by_label("修改说明").fill("补充更换线缆")
    page.get_by_role("button", name="保存").click()
    # An edit of a published article waits for review; its editors see it on the article page.
    expect(page.locator(".messages")).to_contain_text("已保存为待审核的修改")
    expect(page.locator("#kb-pending")).to_contain_text("有待审核的修改")
    page.get_by_role("link", name="版本历史").click()
    expect(page.locator('#kb-versions [data-status="pending"]')).to_be_visible()
    screenshot(page, f"knowledge-history-pending-{size}")

    # The teacher still reads the published text.
    page = open_as(new_page, live_server, kb["teacher"], viewport)
    page.goto(f"/knowledge/{article.pk}/")
    expect(page.locator("#kb-solution")).not_to_contain_text("更换 HDMI 线")
    expect(page.locator("#kb-pending")).to_have_count(0)

    # The reviewer finds it in the queue as an edit, reads the diff against the published text, approves.
    page = open_as(new_page, live_server, kb["reviewer"], viewport)
    page.goto("/knowledge/review/")
    row = page.locator("#kb-review-queue tr", has=page.locator('[data-kind="revision"]'))
    expect(row).to_contain_text("已发布文章的修改")
    row.get_by_role("link", name="多媒体教室投影机显示无信号的排查").click()
    expect(page.locator(".kb-diff .diff_add, .kb-diff .diff_chg").first).to_be_visible()
    assert_no_sideways_scroll(page, "the diff")
    screenshot(page, f"knowledge-diff-{size}")
    page.get_by_role("button", name="通过此修改").click()
    expect(page.locator(".messages")).to_contain_text("修改已通过审核")

    page = open_as(new_page, live_server, kb["teacher"], viewport)
    page.goto(f"/knowledge/{article.pk}/")
    expect(page.locator("#kb-solution")).to_contain_text("更换 HDMI 线")

    # Restoring version 1 on the published article is an edit too: it waits for review.
    page = open_as(new_page, live_server, kb["agent"], viewport)
    page.goto(f"/knowledge/{article.pk}/history/")
    page.locator("#kb-versions tr", has=page.get_by_role("link", name="v1", exact=True)).get_by_role(
        "button", name="恢复"
    ).click()
    expect(page.locator(".messages")).to_contain_text("待审核的修改")
    expect(page.locator("#kb-solution")).to_contain_text("更换 HDMI 线")
    expect(page.locator("#kb-pending")).to_contain_text("版本 3")


@pytest.mark.parametrize("size", SIZES)
def test_asking_a_question_suggests_articles_and_solves_it_without_a_ticket(
    new_page, live_server, kb, screenshot, size, tree
):
    from knowledge import services
    from knowledge.models import SelfSolved
    from tickets.models import Ticket

    article = services.article_create(
        user=kb["agent"],
        owner=tree.haidian,
        data=services.ArticleInput(
            title="网络打印机无法连接的处理方法",
            problem="办公室的网络打印机显示脱机，电脑无法打印。",
            solution="在打印机上设置固定 IP，并在电脑上重新添加打印机。",
            scope_unit=tree.haidian,
        ),
    )
    services.article_submit(user=kb["agent"], article=article)
    services.article_approve(user=kb["reviewer"], article=article)

    page = open_as(new_page, live_server, kb["teacher"], SIZES[size])
    page.goto("/tickets/new/")
    page.get_by_label("标题").press_sequentially("打印机连不上网络", delay=20)
    suggestion = page.locator("#kb-suggestions .kb-item").first
    expect(suggestion.locator("mark").first).to_be_visible()
    assert_no_sideways_scroll(page, "the question form with suggestions")
    screenshot(page, f"knowledge-suggestions-{size}")
    with page.expect_response(lambda r: "/solved/" in r.url) as solved:
        suggestion.get_by_role("button", name="这解决了我的问题").click()
    assert solved.value.status == 200, solved.value.text()[:500]
    expect(page.locator("#kb-suggestions")).to_contain_text("没有提交问题")
    assert SelfSolved.objects.filter(article=article, user=kb["teacher"]).count() == 1
    assert Ticket.objects.count() == 0
