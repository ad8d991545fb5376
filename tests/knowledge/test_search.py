"""Knowledge search: BM25 ordering (title above body, rarer words weigh more, shorter articles
first), highlighting that escapes everything but <mark>, the reader's scope, the index kept in step
with publish / edit / restore / archive, the catch-up task and the rebuild command, suggestions
while typing a question and 这解决了我的问题."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from knowledge import search, services
from knowledge.models import (
    Article,
    ArticleSearchDoc,
    ArticleSearchStats,
    ArticleSearchTerm,
    ArticleSearchTermStat,
    ArticleState,
    SelfSolved,
)
from knowledge.reports import self_solved_counts
from knowledge.search_text import document_terms, highlight, normalise, query_terms, snippet
from knowledge.selectors import published_articles
from knowledge.services.self_service import article_solved_my_problem
from knowledge.tasks import catch_up_search_index

pytestmark = pytest.mark.django_db

FILLER = "老师反映设备在上课期间出现异常，已记录时间和教室位置。"


def _ids(reader, query, limit=10):
    return [hit.article.pk for hit in search.search_articles(published_articles(user=reader), query, limit=limit)]


def _index_snapshot():
    return (
        sorted(ArticleSearchTerm.objects.values_list("article_id", "term", "tf_title", "tf_body")),
        sorted(ArticleSearchTermStat.objects.values_list("term", "documents")),
        ArticleSearchStats.objects.values_list("documents", "title_terms", "body_terms").first(),
    )


# --- Text analysis --------------------------------------------------------------------------------


def test_synonyms_bring_both_wordings_to_the_same_terms():
    assert document_terms("投影仪没有信号") == document_terms("投影机无信号")
    assert set(query_terms("打印机连不上")) >= {"无法", "连接"}
    assert set(query_terms("电脑蓝屏")) >= {"计算", "算机", "蓝屏"}
    # The computer room is a place, not the device: no 计算机 term, the same as 机房.
    assert document_terms("计算机教室录播系统") == document_terms("机房录播系统")
    assert not {"计算", "算机"} & set(document_terms("电脑教室的投影机"))


def test_question_fillers_and_particles_are_not_terms():
    terms = query_terms("请问老师怎么办呢")
    assert not {"请问", "老师", "怎么", "么办", "办呢"} & set(terms)
    assert "的处" not in document_terms("网络打印机的处理方法")


def test_highlight_maps_the_canonical_word_back_to_what_was_written():
    normal = normalise("投影仪")
    assert normal.text.strip() == "投影机" and normal.spans[1:4] == ((0, 3),) * 3
    assert highlight("教室投影仪坏了", {"投影", "影机"}) == "教室<mark>投影仪</mark>坏了"


def test_highlight_and_snippet_escape_everything_but_mark():
    text = '<script>alert("x")</script>投影仪<img src=x onerror=alert(1)>没有信号 & more'
    terms = set(query_terms("投影机无信号"))
    for html in (highlight(text, terms), snippet(text * 5, terms, width=60)):
        assert "<script>" not in html and "<img" not in html
        assert html.replace("<mark>", "").replace("</mark>", "").count("<") == 0
        assert "<mark>投影仪</mark>" in html
    assert "&amp; more" in highlight(text, terms)


def test_a_snippet_shows_where_the_words_are():
    text = "开头的背景说明。" * 20 + "最后发现是投影机的信号线松动。" + "结尾的补充说明。" * 20
    cut = snippet(text, set(query_terms("投影机信号线")), width=40)
    assert cut.startswith("…") and cut.endswith("…")
    assert "<mark>投影机</mark>" in cut


# --- Ranking ---------------------------------------------------------------------------------------


def test_a_title_match_ranks_above_the_same_word_in_the_body(publish, people):
    in_body = publish(
        title="教室设备日常巡检记录", problem="巡检时发现交换机风扇有异响。" + FILLER, steps="", solution="已清理。"
    )
    in_title = publish(title="交换机风扇异响", problem="巡检时发现设备有异响。" + FILLER, steps="", solution="已清理。")
    assert _ids(people.teacher, "交换机")[:2] == [in_title.pk, in_body.pk]


def test_a_rarer_word_weighs_more_than_a_common_one(publish, people):
    for number in range(6):
        publish(title=f"教室设备巡检第{number}周", problem="本周检查了投影机和音箱。" + FILLER, solution="正常。")
    common = publish(title="设备巡检汇总", problem="投影机检查完毕。" + FILLER, solution="正常。")
    rare = publish(title="设备巡检备忘", problem="功放检查完毕。" + FILLER, solution="正常。")
    # 投影机 is in eight articles, 功放 in one: the article holding the rare word comes first.
    top = _ids(people.teacher, "投影机 功放")
    assert top[0] == rare.pk
    assert top.index(rare.pk) < top.index(common.pk)


def test_a_shorter_article_ranks_above_a_longer_one_with_the_same_count(publish, people):
    long = publish(title="硬盘故障", problem="机房服务器报警。" + FILLER * 8, solution="更换。")
    short = publish(title="硬盘故障", problem="机房服务器报警。", solution="更换。")
    assert _ids(people.teacher, "硬盘")[:2] == [short.pk, long.pk]


def test_nothing_matches_words_no_article_holds(publish, people):
    publish()
    assert _ids(people.teacher, "火星探测器") == []
    assert _ids(people.teacher, "!!! 🙂") == []


def test_results_carry_score_and_highlights(publish, people):
    article = publish(title="投影仪<b>没有信号</b>", problem="投影机显示无信号 <script>x</script>", solution="换线。")
    (hit,) = search.search_articles(published_articles(user=people.teacher), "投影仪没有信号")
    assert hit.article.pk == article.pk and hit.score > 0
    assert hit.title_html == "<mark>投影仪</mark>&lt;b&gt;<mark>没有信号</mark>&lt;/b&gt;"
    assert "&lt;script&gt;" in hit.snippet_html and "<mark>投影机</mark>" in hit.snippet_html


# --- Scope -----------------------------------------------------------------------------------------


def _publish_in_tianjin(people, tree, **fields):
    data = {"title": "投影机无信号的排查（天津）", "problem": "投影机无信号。", "solution": "换线。"} | fields
    article = services.article_create(
        user=people.tianjin_agent,
        owner=tree.heping,
        data=services.ArticleInput(scope_unit=tree.heping, **data),
    )
    services.article_submit(user=people.tianjin_agent, article=article)
    return services.article_approve(user=people.tianjin_reviewer, article=article)


def test_readers_find_only_what_their_scope_covers(publish, people, tree):
    haidian = publish()
    tianjin = _publish_in_tianjin(people, tree)
    assert _ids(people.teacher, "投影机无信号") == [haidian.pk]
    assert _ids(people.tianjin_teacher, "投影机无信号") == [tianjin.pk]
    # A queryset narrowed further (a category, a unit) narrows the ranking too.
    only = published_articles(user=people.teacher).filter(pk=haidian.pk)
    assert [hit.article.pk for hit in search.search_articles(only, "投影机")] == [haidian.pk]
    assert search.search_articles(published_articles(user=people.teacher).none(), "投影机") == []


def test_drafts_and_articles_under_review_are_not_found(write, people):
    draft = write(title="打印机卡纸的处理")
    pending = write(title="打印机驱动安装")
    services.article_submit(user=people.author, article=pending)
    assert _ids(people.teacher, "打印机") == []
    assert not ArticleSearchTerm.objects.filter(article_id__in=[draft.pk, pending.pk]).exists()


# --- The index in step -----------------------------------------------------------------------------


def test_publish_edit_restore_and_archive_keep_the_index_in_step(publish, people):
    article = publish(title="投影机无信号的排查", problem="投影机提示无信号。", steps="", solution="切换信号源。")
    assert _ids(people.teacher, "投影仪没信号") == [article.pk]
    assert ArticleSearchDoc.objects.get(article=article).version == article.version

    edited = services.article_update(
        user=people.author,
        article=article,
        data=services.ArticleInput.from_article(
            article, title="工作邮箱收不到外部邮件", problem="邮箱容量已满。", solution="清理邮箱。"
        ),
    )
    # An edit of a published article waits for review: the index keeps the published text.
    assert _ids(people.teacher, "投影仪没信号") == [article.pk]
    assert _ids(people.teacher, "邮件收不到") == []
    edited = services.revision_approve(user=people.reviewer, article=edited)
    assert _ids(people.teacher, "投影仪没信号") == []
    assert _ids(people.teacher, "邮件收不到") == [article.pk]
    assert ArticleSearchDoc.objects.get(article=article).version == edited.version == 2
    assert not ArticleSearchTermStat.objects.filter(term="信号").exists()

    services.article_restore(user=people.author, article=edited, number=1)
    assert _ids(people.teacher, "邮件收不到") == [article.pk]
    services.revision_approve(user=people.reviewer, article=edited)
    assert _ids(people.teacher, "投影仪没信号") == [article.pk]
    assert _ids(people.teacher, "邮件收不到") == []

    services.article_archive(user=people.author, article=Article.objects.get(pk=article.pk))
    assert _ids(people.teacher, "投影仪没信号") == []
    assert _index_snapshot() == ([], [], (0, 0, 0))


def test_document_frequencies_and_totals_follow_each_change(publish, people):
    first = publish(title="打印机卡纸", problem="打印机卡纸。", solution="换纸。")
    publish(title="打印机脱机", problem="打印机脱机。", solution="重新添加。")
    assert ArticleSearchTermStat.objects.get(term="打印").documents == 2
    assert ArticleSearchStats.objects.get(pk=1).documents == 2
    services.article_archive(user=people.author, article=first)
    assert ArticleSearchTermStat.objects.get(term="打印").documents == 1
    assert not ArticleSearchTermStat.objects.filter(term="卡纸").exists()
    stats = ArticleSearchStats.objects.get(pk=1)
    doc = ArticleSearchDoc.objects.get()
    assert (stats.documents, stats.title_terms, stats.body_terms) == (1, doc.title_len, doc.body_len)


def test_the_catch_up_task_repairs_a_lost_write_and_is_idempotent(publish, people):
    kept = publish(title="打印机卡纸", problem="打印机卡纸。", solution="换纸。")
    lost = publish(title="投影机无信号", problem="投影机无信号。", solution="换线。")
    archived = publish(title="交换机断电", problem="交换机断电。", solution="换电源。")
    healthy = _index_snapshot()
    # Writes that bypassed the services: an index entry lost, an archive that left its entry behind.
    search.remove_article(lost)
    Article.objects.filter(pk=archived.pk).update(state=ArticleState.ARCHIVED)
    assert _ids(people.teacher, "投影机") == []

    assert catch_up_search_index() == {"indexed": 1, "removed": 1}
    assert _ids(people.teacher, "投影机") == [lost.pk]
    assert _ids(people.teacher, "打印机") == [kept.pk]
    assert catch_up_search_index() == {"indexed": 0, "removed": 0}
    Article.objects.filter(pk=archived.pk).update(state=ArticleState.PUBLISHED)
    assert catch_up_search_index() == {"indexed": 1, "removed": 0}
    assert _index_snapshot() == healthy


def test_the_rebuild_command_shows_progress_and_rebuilds_the_same_index(publish):
    for number in range(3):
        publish(title=f"打印机卡纸 {number}", problem="打印机卡纸。", solution="换纸。")
    before = _index_snapshot()
    out, err = StringIO(), StringIO()
    call_command("rebuild_knowledge_index", "--batch", "2", stdout=out, stderr=err)
    assert "Indexed 3 published articles" in out.getvalue()
    assert "3/3" in err.getvalue()
    assert _index_snapshot() == before


# --- Suggestions and 这解决了我的问题 ------------------------------------------------------------------


def test_suggestions_while_typing_a_question(publish, people, tree):
    printer = publish(title="网络打印机无法连接的处理方法", problem="打印机脱机。", solution="设置固定 IP。")
    publish(title="投影机无信号", problem="投影机无信号。", solution="换线。")
    _publish_in_tianjin(people, tree, title="网络打印机连不上（天津）")
    text = "办公室打印机连不上网络 打印机显示脱机，老师们都打印不了试卷，很着急，麻烦尽快处理一下"
    hits = search.suggest_articles(people.teacher, text)
    assert [hit.article.pk for hit in hits] == [printer.pk]
    assert "<mark>" in hits[0].title_html
    assert len(search.suggest_articles(people.teacher, "投影 打印", limit=1)) == 1


def test_solved_my_problem_is_counted_once_and_only_for_readable_articles(publish, people, tree):
    article = publish()
    tianjin = _publish_in_tianjin(people, tree)
    solved = article_solved_my_problem(user=people.teacher, article_id=article.pk, question="投影仪没有信号")
    again = article_solved_my_problem(user=people.teacher, article_id=article.pk, question="投影仪没有信号")
    assert solved.pk == again.pk and solved.unit == tree.school_a
    article_solved_my_problem(user=people.teacher_b, article_id=article.pk)
    with pytest.raises(Article.DoesNotExist):
        article_solved_my_problem(user=people.teacher, article_id=tianjin.pk)
    with pytest.raises(ValidationError) as error:
        article_solved_my_problem(user=people.teacher, article_id=article.pk, question="长" * 501)
    assert "question" in error.value.message_dict
    assert SelfSolved.objects.count() == 2

    counts = self_solved_counts(user=people.city_admin)
    assert counts["by_article"] == [{"article": article.pk, "title": article.title, "count": 2}]
    assert sorted(row["unit"] for row in counts["by_unit"]) == sorted([tree.school_a.pk, tree.school_b.pk])
    assert self_solved_counts(user=people.tianjin_teacher) == {"by_unit": [], "by_article": []}


def test_common_words_are_left_out_when_rarer_ones_carry_the_query(publish, people, monkeypatch):
    monkeypatch.setattr(search, "PRUNE_FROM", 5)
    common = [publish(title=f"教室设备巡检 {n}", problem="教室设备正常。", steps="", solution="无。") for n in range(9)]
    rare = publish(title="功放无输出", problem="教室功放没有输出。", steps="", solution="换保险丝。")
    # 教室 is in every article (over COMMON_SHARE): with 功放 in the query it costs postings for nothing.
    assert _ids(people.teacher, "教室 功放") == [rare.pk]
    # Alone it is all the query has, and is kept.
    assert len(_ids(people.teacher, "教室", limit=20)) == len(common) + 1


def test_a_page_is_filled_even_when_the_best_hits_are_out_of_scope(publish, people, tree, monkeypatch):
    from knowledge import sql

    monkeypatch.setattr(sql, "SCOPE_WINDOW", 1)
    mine = [publish(title=f"交换机端口不通 {n}", problem="端口不通。", steps="", solution="换端口。") for n in range(2)]
    _publish_in_tianjin(people, tree, title="交换机端口不通 交换机端口", problem="交换机端口不通。")
    # The best hit is Tianjin's: the window of one holds nothing the teacher may read, so every hit
    # is checked against the scope.
    assert sorted(_ids(people.teacher, "交换机端口")) == sorted(article.pk for article in mine)
