"""The notices portal pages: writing with the audience picker, review, inbox with its badge, the notice
page (receipt, files, forwarding), sent notices with statistics and exports, 催阅, 公告查询, and the
rules a user would notice: form errors as form errors (400, never 500), 404 outside one's reach."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from notices import services
from notices.models import Notice, NoticeAttachment, NoticeRead, NoticeState

pytestmark = pytest.mark.django_db


def _form(unit, **fields):
    return {
        "unit": unit.pk,
        "title": "关于开展校园网络安全自查的通知",
        "body": "各单位：\n\n请于**12月20日前**完成自查。",
        "importance": "important",
        "audience_mode": "subtree",
    } | fields


def test_a_publisher_writes_submits_and_the_reviewer_approves(client, people, tree):
    client.force_login(people.bj_publisher)
    page = client.get(reverse("notices:create"))
    assert page.status_code == 200
    assert "写公告" in page.content.decode()
    answer = client.post(reverse("notices:create"), _form(tree.beijing, receipt_required="on", submit="1"))
    notice = Notice.objects.get()
    assert answer.status_code == 302 and answer.url == reverse("notices:detail", args=[notice.pk])
    assert notice.state == NoticeState.PENDING_REVIEW and notice.receipt_required

    client.force_login(people.bj_reviewer)
    queue = client.get(reverse("notices:review"))
    assert notice.title in queue.content.decode()
    # The reviewer reads whom it is for before deciding.
    review_page = client.get(reverse("notices:detail", args=[notice.pk])).content.decode()
    assert "发布范围: 本单位及全部下级 · 需回执" in review_page
    # Returning it needs a reason: a form error on the page, not a 500.
    refused = client.post(reverse("notices:action", args=[notice.pk, "reject"]), {"reason": ""})
    assert refused.status_code == 400
    assert 'class="errorlist' in refused.content.decode()
    approved = client.post(reverse("notices:action", args=[notice.pk, "approve"]), {"reason": ""})
    assert approved.status_code == 302
    notice.refresh_from_db()
    assert notice.state == NoticeState.PUBLISHED


def test_the_audience_outside_the_subtree_is_a_form_error(client, people, tree):
    client.force_login(people.hd_publisher)
    answer = client.post(
        reverse("notices:create"), _form(tree.haidian, audience_mode="units", unit_codes=tree.school_tj.code)
    )
    assert answer.status_code == 400
    body = answer.content.decode()
    assert "id_units_errors" in body and tree.school_tj.name in body
    unknown = client.post(reverse("notices:create"), _form(tree.haidian, audience_mode="units", unit_codes="NOPE"))
    assert unknown.status_code == 400 and "NOPE" in unknown.content.decode()
    refused = client.post(
        reverse("notices:create"),
        _form(tree.haidian, attachment=SimpleUploadedFile("setup.exe", b"MZ\x90\x00", content_type="text/plain")),
    )
    assert refused.status_code == 400 and "id_attachment_errors" in refused.content.decode()
    empty = client.post(reverse("notices:create"), _form(tree.haidian, title="", valid_until="not a date"))
    assert empty.status_code == 400
    assert not Notice.objects.exists()


def test_levels_and_roles_reach_only_whom_they_name(client, people, tree):
    client.force_login(people.bj_publisher)
    client.post(
        reverse("notices:create"),
        _form(tree.beijing, audience_mode="levels", audience_levels=["4"], audience_kinds=["teacher"], submit="1"),
    )
    notice = Notice.objects.get()
    services.notice_approve(user=people.bj_reviewer, notice=notice)
    assert notice.audience_levels == [4] and notice.audience_kinds == ["teacher"]
    client.force_login(people.teacher_a)
    assert notice.title in client.get(reverse("notices:inbox")).content.decode()
    client.force_login(people.student_a)
    assert notice.title not in client.get(reverse("notices:inbox")).content.decode()
    assert client.get(reverse("notices:detail", args=[notice.pk])).status_code == 404


def test_the_inbox_badge_reading_and_confirming(client, people, tree, publish):
    notice = publish(receipt_required=True)
    client.force_login(people.teacher_a)
    home = client.get("/").content.decode()
    assert 'id="nav-notices-count" data-count="1"' in home
    assert 'data-notice-unread data-count="1"' in home
    inbox = client.get(reverse("notices:inbox")).content.decode()
    assert "is-unread" in inbox and notice.title in inbox

    page = client.get(reverse("notices:detail", args=[notice.pk]))
    assert page.status_code == 200 and "confirm-receipt" in page.content.decode()
    assert NoticeRead.objects.filter(user=people.teacher_a, notice=notice, confirmed_at__isnull=True).exists()
    assert 'id="nav-notices-count" data-count="0"' in page.content.decode()
    client.post(reverse("notices:action", args=[notice.pk, "confirm"]))
    assert NoticeRead.objects.get(user=people.teacher_a, notice=notice).confirmed_at is not None
    assert "confirm-receipt" not in client.get(reverse("notices:detail", args=[notice.pk])).content.decode()

    # Outside the audience: 404 by id, the statistics too.
    client.force_login(people.tj_teacher)
    assert client.get(reverse("notices:detail", args=[notice.pk])).status_code == 404
    assert client.get(reverse("notices:stats", args=[notice.pk])).status_code == 404
    # A recipient is not a manager: no statistics.
    client.force_login(people.teacher_b)
    assert client.get(reverse("notices:stats", args=[notice.pk])).status_code == 404


def test_statistics_drill_down_exports_and_the_reminder_limit(client, people, tree, publish):
    notice = publish(receipt_required=True)
    services.notice_mark_read(user=people.teacher_a, notice=notice, confirm=True)
    services.compute_notice_stats(notice.pk)
    client.force_login(people.bj_publisher)
    sent = client.get(reverse("notices:sent")).content.decode()
    assert notice.title in sent and "<progress" in sent

    page = client.get(reverse("notices:stats", args=[notice.pk])).content.decode()
    assert tree.haidian.name in page and "bar-fill" in page
    drill = client.get(reverse("notices:stats", args=[notice.pk]), {"unit": tree.haidian.pk}).content.decode()
    assert tree.school_a.name in drill and tree.school_b.name in drill
    people_page = client.get(
        reverse("notices:stats", args=[notice.pk]), {"unit": tree.haidian.pk, "people": tree.school_b.pk}
    ).content.decode()
    assert people.teacher_b.username in people_page and people.teacher_a.username not in people_page
    # A unit outside the notice's reach: 404.
    assert client.get(reverse("notices:stats", args=[notice.pk]), {"unit": tree.tianjin.pk}).status_code == 404
    assert client.get(reverse("notices:stats", args=[notice.pk]), {"unit": "x"}).status_code == 404

    csv = client.get(reverse("notices:stats_export", args=[notice.pk]), {"format": "csv"})
    assert csv.status_code == 200 and tree.haidian.name in b"".join(csv.streaming_content).decode("utf-8-sig")
    xlsx = client.get(reverse("notices:stats_export", args=[notice.pk]), {"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"

    first = client.post(reverse("notices:action", args=[notice.pk, "remind"]), follow=True)
    assert '<li class="success">' in first.content.decode()
    # The teacher who has not confirmed sees the reminder on the inbox row; the one who has does not.
    client.force_login(people.teacher_b)
    assert "is-reminded" in client.get(reverse("notices:inbox")).content.decode()
    client.force_login(people.teacher_a)
    assert "is-reminded" not in client.get(reverse("notices:inbox")).content.decode()
    client.force_login(people.bj_publisher)
    second = client.post(reverse("notices:action", args=[notice.pk, "remind"]), follow=True)
    assert second.status_code == 200
    assert '<li class="error">一小时内已催阅过' in second.content.decode()
    notice.refresh_from_db()
    assert notice.reminder_count == 1


def test_search_forward_withdraw_and_files(client, people, tree, publish):
    notice = publish(title="寒假网络安全通知", body="请完成**自查**。")
    other = publish(title="教师培训安排", body="培训时间另行通知。", importance="urgent")
    services.notice_mark_read(user=people.hd_publisher, notice=other)
    client.force_login(people.hd_publisher)
    found = client.get(reverse("notices:inbox"), {"q": "网络安全"}).content.decode()
    assert notice.title in found and other.title not in found
    unread = client.get(reverse("notices:inbox"), {"read": "unread"}).content.decode()
    assert notice.title in unread and other.title not in unread
    urgent = client.get(reverse("notices:inbox"), {"importance": "urgent"}).content.decode()
    assert other.title in urgent and notice.title not in urgent
    bad = client.get(reverse("notices:inbox"), {"after": "2026-13-40", "unit": "NOPE"})
    assert bad.status_code == 400

    # 转发: 海淀区 republishes 北京市's notice to its own subtree with a cover note.
    form = client.get(reverse("notices:forward", args=[notice.pk]))
    assert form.status_code == 200
    answer = client.post(
        reverse("notices:forward", args=[notice.pk]),
        {"unit": tree.haidian.pk, "cover_note": "请各校认真落实。", "importance": "normal", "audience_mode": "subtree"},
    )
    forward = Notice.objects.get(forwarded_from=notice)
    assert answer.status_code == 302 and forward.state == NoticeState.DRAFT
    attach = client.post(
        reverse("notices:attachment_upload", args=[forward.pk]),
        {"file": SimpleUploadedFile("清单.txt", "自查清单".encode(), content_type="text/plain")},
    )
    assert attach.status_code == 302
    client.post(reverse("notices:action", args=[forward.pk, "submit"]))
    services.notice_approve(user=people.hd_reviewer, notice=Notice.objects.get(pk=forward.pk))
    client.force_login(people.teacher_a)
    page = client.get(reverse("notices:detail", args=[forward.pk])).content.decode()
    assert "请各校认真落实" in page and "自查" in page and "清单.txt" in page
    file = NoticeAttachment.objects.get(notice=forward)
    download = client.get(reverse("notices:attachment", args=[forward.pk, file.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == "自查清单".encode()
    client.force_login(people.tj_teacher)
    assert client.get(reverse("notices:attachment", args=[forward.pk, file.pk])).status_code == 404

    client.force_login(people.bj_publisher)
    withdrawn = client.post(reverse("notices:action", args=[notice.pk, "withdraw"]), {"reason": "内容有误"})
    assert withdrawn.status_code == 302
    client.force_login(people.teacher_b)
    assert "is-withdrawn" in client.get(reverse("notices:inbox")).content.decode()


def test_a_teacher_cannot_write_and_bad_ids_are_404(client, people):
    client.force_login(people.teacher_a)
    assert client.get(reverse("notices:create")).status_code == 404
    assert client.get(reverse("notices:detail", args=[999999])).status_code == 404
    assert client.post(reverse("notices:action", args=[999999, "approve"])).status_code == 404
