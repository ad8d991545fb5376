"""The knowledge base's rules, through its services and selectors."""

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from knowledge import selectors, services
from knowledge.models import Article, ArticleReview, ArticleState, VersionStatus

pytestmark = pytest.mark.django_db


def test_a_new_article_is_a_draft_only_its_unit_sees(people, write):
    article = write()
    assert article.state == ArticleState.DRAFT
    assert article.version == 1
    assert "<strong>无信号</strong>" in article.problem_html
    assert selectors.article_get(user=people.agent2, pk=article.pk) == article
    assert selectors.article_get(user=people.reviewer, pk=article.pk) == article
    for outsider in (people.teacher, people.tianjin_agent):
        with pytest.raises(Http404):
            selectors.article_get(user=outsider, pk=article.pk)


def test_review_publishes_to_the_scope_only(people, write, tree):
    article = write()
    services.article_submit(user=people.author, article=article)
    # Nobody approves their own article.
    with pytest.raises(ValidationError):
        services.article_approve(user=people.author, article=article)
    # A reviewer of another unit is not this article's reviewer.
    with pytest.raises(ValidationError):
        services.article_approve(user=people.tianjin_reviewer, article=article)
    article = services.article_approve(user=people.reviewer, article=article)
    assert article.state == ArticleState.PUBLISHED and article.published_at is not None
    assert ArticleReview.objects.get(article=article).decision == "approved"
    # 海淀区's teachers read it; 天津's do not, not even by id.
    assert selectors.article_get(user=people.teacher, pk=article.pk) == article
    assert list(selectors.article_list(user=people.teacher_b)) == [article]
    with pytest.raises(Http404):
        selectors.article_get(user=people.tianjin_teacher, pk=article.pk)
    assert list(selectors.article_list(user=people.tianjin_teacher)) == []


def test_a_unit_administrator_above_reviews_too(people, write):
    article = write()
    services.article_submit(user=people.author, article=article)
    assert [a.pk for a in selectors.review_queue(user=people.city_admin)] == [article.pk]
    assert selectors.review_queue(user=people.tianjin_reviewer).count() == 0
    services.article_approve(user=people.city_admin, article=article)


def test_reject_needs_a_reason_and_sends_the_article_back(people, write):
    article = write()
    services.article_submit(user=people.author, article=article)
    with pytest.raises(ValidationError) as error:
        services.article_reject(user=people.reviewer, article=article, reason="  ")
    assert "reason" in error.value.message_dict
    article = services.article_reject(user=people.reviewer, article=article, reason="步骤缺少截图")
    assert article.state == ArticleState.DRAFT
    assert article.reviews.get().reason == "步骤缺少截图"
    with pytest.raises(Http404):
        selectors.article_get(user=people.teacher, pk=article.pk)


def test_national_scope_only_from_a_top_level_unit(people, write, tree):
    with pytest.raises(ValidationError) as error:
        write(scope_unit=None)
    assert "scope_unit" in error.value.message_dict
    with pytest.raises(ValidationError):
        write(scope_unit=tree.heping)
    article = write(user=people.ministry_author, owner=tree.root, scope_unit=None)
    services.article_submit(user=people.ministry_author, article=article)
    services.article_approve(user=people.ministry_reviewer, article=article)
    for reader in (people.teacher, people.tianjin_teacher):
        assert selectors.article_get(user=reader, pk=article.pk).pk == article.pk


def test_a_school_scope_is_read_in_that_school_only(people, write, tree, publish):
    article = publish(scope_unit=tree.school_a)
    assert selectors.article_get(user=people.teacher, pk=article.pk)
    with pytest.raises(Http404):
        selectors.article_get(user=people.teacher_b, pk=article.pk)
    # The county's staff serve the school: they read it too.
    assert selectors.article_get(user=people.agent2, pk=article.pk)


def test_editing_a_published_article_keeps_every_version_and_restores(people, publish):
    article = publish()
    edited = services.article_update(
        user=people.agent2,
        article=article,
        data=services.ArticleInput.from_article(
            article, title="投影机无信号怎么办", problem="画面无信号", solution="更换 HDMI 线", note="更新解决方法"
        ),
    )
    # The edit waits for review: the article still reads as published.
    edited.refresh_from_db()
    assert edited.state == ArticleState.PUBLISHED
    assert edited.version == 1 and edited.title == "多媒体教室投影机显示无信号的排查"
    assert edited.pending_revision.number == 2
    services.revision_approve(user=people.reviewer, article=edited, number=2)
    edited.refresh_from_db()
    assert edited.version == 2 and edited.title == "投影机无信号怎么办" and edited.pending_revision is None
    versions = list(selectors.article_versions(user=people.reviewer, article=edited))
    assert [v.number for v in versions] == [2, 1]
    assert versions[0].author == people.agent2 and versions[0].note == "更新解决方法"
    assert versions[0].status == VersionStatus.APPROVED and versions[0].reviewed_by == people.reviewer
    assert versions[1].title == "多媒体教室投影机显示无信号的排查"
    diff = services.version_diff_html(versions[1], versions[0])
    labels = [label for label, _table in diff]
    assert "Title" in labels or "标题" in labels
    assert "更换&nbsp;HDMI&nbsp;线" in "".join(table for _label, table in diff)

    # A restore on a published article is an edit like any other: it waits for review too.
    services.article_restore(user=people.author, article=edited, number=1)
    edited.refresh_from_db()
    assert edited.title == "投影机无信号怎么办" and edited.pending_revision.number == 3
    services.revision_approve(user=people.reviewer, article=edited, number=3)
    restored = Article.objects.get(pk=edited.pk)
    assert restored.version == 3
    assert restored.title == "多媒体教室投影机显示无信号的排查"
    assert restored.solution_html.startswith("<p>按遥控器")
    assert restored.versions.count() == 3
    # Readers do not see the history.
    with pytest.raises(Http404):
        selectors.article_versions(user=people.teacher, article=restored)


def test_archive_takes_it_out_of_reading(people, publish):
    article = publish()
    services.article_archive(user=people.author, article=article)
    with pytest.raises(Http404):
        selectors.article_get(user=people.teacher, pk=article.pk)
    with pytest.raises(ValidationError):
        services.article_update(
            user=people.author, article=article, data=services.ArticleInput(title="x", problem="y", solution="z")
        )


def test_votes_one_per_reader_and_changeable(people, publish, tree):
    article = publish()
    services.article_vote(user=people.teacher, article=article, helpful=True)
    services.article_vote(user=people.teacher, article=article, helpful=True)
    article = services.article_vote(user=people.teacher_b, article=article, helpful=False)
    assert (article.helpful_count, article.not_helpful_count) == (1, 1)
    article = services.article_vote(user=people.teacher_b, article=article, helpful=True)
    assert (article.helpful_count, article.not_helpful_count) == (2, 0)
    with pytest.raises(ValidationError):
        services.article_vote(user=people.tianjin_teacher, article=article, helpful=True)


def test_views_count_published_only(people, write, publish):
    draft = write()
    services.article_count_view(user=people.teacher, article=draft)
    draft.refresh_from_db()
    assert draft.views == 0
    article = publish()
    before = article.updated_at
    services.article_count_view(user=people.teacher, article=article)
    services.article_count_view(user=people.teacher_b, article=article)
    # The owning unit's staff are not readers.
    services.article_count_view(user=people.reviewer, article=article)
    article.refresh_from_db()
    assert article.views == 2
    assert article.updated_at == before


def test_lists_sort_and_filter(people, publish, tree):
    from knowledge.models import Category

    hardware = Category.objects.create(name="硬件")
    projector = Category.objects.create(name="投影", parent=hardware)
    first = publish(title="投影机无信号", category=projector, tags=["投影", "HDMI"])
    second = publish(title="打印机脱机", category=hardware)
    services.article_count_view(user=people.teacher, article=first)
    services.article_vote(user=people.teacher, article=second, helpful=True)
    assert list(selectors.article_list(user=people.teacher, sort="newest")) == [second, first]
    assert list(selectors.article_list(user=people.teacher, sort="views")) == [first, second]
    assert list(selectors.article_list(user=people.teacher, sort="helpful")) == [second, first]
    assert list(selectors.article_list(user=people.teacher, category=hardware, sort="views")) == [first, second]
    assert list(selectors.article_list(user=people.teacher, category=projector)) == [first]
    from knowledge.models import Tag

    assert list(selectors.article_list(user=people.teacher, tag=Tag.objects.get(name="HDMI"))) == [first]
    assert list(selectors.article_list(user=people.teacher, unit=tree.tianjin)) == []


def test_bad_input_gives_field_messages(people, write):
    with pytest.raises(ValidationError) as error:
        write(title="长" * 201, problem="", tags=["x" * 51], ticket_types=["printer"])
    fields = error.value.message_dict
    assert {"title", "problem", "tags", "ticket_types"} <= set(fields)


def test_only_the_owning_units_staff_write_for_it(people, write, tree):
    with pytest.raises(ValidationError) as error:
        write(user=people.tianjin_agent, owner=tree.haidian)
    assert "unit" in error.value.message_dict
    with pytest.raises(ValidationError):
        write(user=people.teacher, owner=tree.school_a, scope_unit=tree.school_a)


def test_from_a_resolved_ticket_with_the_link_both_ways(people, resolved_ticket, tree):
    ticket = resolved_ticket()
    article = services.article_from_ticket(user=people.author, ticket_id=ticket.pk)
    assert article.source_ticket_id == ticket.pk
    assert article.title == "网络打印机无法连接"
    assert "连不上" in article.problem
    assert "固定 IP" in article.solution
    assert article.ticket_types == ["hardware"]
    assert article.unit == tree.haidian
    assert list(ticket.knowledge_articles.all()) == [article]
    # The source ticket is shown to those who may open it: its staff and asker, not another school.
    assert selectors.source_ticket_visible(user=people.reviewer, article=article)
    assert selectors.source_ticket_visible(user=people.teacher, article=article)
    assert not selectors.source_ticket_visible(user=people.teacher_b, article=article)


def test_only_resolved_tickets_by_their_staff_become_articles(people, resolved_ticket):
    from tickets import services as ticket_services

    open_ticket = ticket_services.ticket_create(
        asker=people.teacher, title="电脑蓝屏", description="开机蓝屏", type="hardware", priority="P3"
    )
    with pytest.raises(ValidationError):
        services.article_from_ticket(user=people.author, ticket_id=open_ticket.pk)
    ticket = resolved_ticket()
    for outsider in (people.teacher, people.tianjin_agent):
        with pytest.raises(ValidationError):
            services.article_from_ticket(user=outsider, ticket_id=ticket.pk)
    with pytest.raises(ValidationError):
        services.article_from_ticket(user=people.author, ticket_id="abc")


def test_attachments_follow_the_upload_policy_and_editors(people, publish):
    from django.core.files.uploadedfile import SimpleUploadedFile

    article = publish()
    disguised = SimpleUploadedFile("说明.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    with pytest.raises(ValidationError):
        services.attachment_add(user=people.author, article=article, upload=disguised)
    text = SimpleUploadedFile("步骤.txt", "先重启路由器".encode(), content_type="text/plain")
    with pytest.raises(ValidationError):
        services.attachment_add(user=people.teacher, article=article, upload=text)
    attachment = services.attachment_add(user=people.author, article=article, upload=text)
    assert attachment.original_name == "步骤.txt" and attachment.size == len("先重启路由器".encode())
    assert article.attachments.count() == 1
    with pytest.raises(ValidationError):
        services.attachment_delete(user=people.teacher, attachment=attachment)
    services.attachment_delete(user=people.author, attachment=attachment)
    assert article.attachments.count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_readers_simultaneous_votes_count_once(people, publish):
    from tests.concurrency import require_postgres, run_at_once

    require_postgres()
    article = publish()
    errors = run_at_once(
        [lambda: services.article_vote(user=people.teacher, article=article, helpful=True) for _ in range(4)]
    )
    assert errors == []
    article.refresh_from_db()
    assert (article.helpful_count, article.votes.count()) == (1, 1)


def test_reviewers_are_told_of_a_submission_and_the_author_of_the_decision(people, write):
    from accounts.models import Notification

    article = write()
    services.article_submit(user=people.author, article=article)
    told = Notification.objects.filter(kind="knowledge.review_requested")
    assert set(told.values_list("user_id", flat=True)) == {people.reviewer.pk}
    assert told.get().url == f"/knowledge/{article.pk}/"
    services.article_reject(user=people.reviewer, article=article, reason="请补充截图")
    decision = Notification.objects.get(kind="knowledge.reviewed")
    assert decision.user_id == people.author.pk and decision.body == "请补充截图"
    assert "退回" in decision.title or "sent back" in decision.title
