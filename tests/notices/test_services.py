"""Rules of the writing services: sanitised bodies, files, who may do what."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.core.events import send_group_event
from notices import selectors, services

pytestmark = pytest.mark.django_db


def test_bodies_and_cover_notes_are_sanitised(write, people, publish, tree):
    notice = write(body="<script>alert(1)</script>\n\n[点我](javascript:alert(1)) <img src=x onerror=alert(1)>")
    html = notice.body_html
    assert "<script" not in html and 'href="javascript' not in html and "<img" not in html
    original = publish()
    forward = services.notice_forward(
        user=people.hd_publisher,
        notice=original,
        unit=tree.haidian,
        data=services.NoticeInput(cover_note="请落实 <b onclick=x>通知</b> [链接](javascript:void(0))"),
    )
    assert "<b " not in forward.cover_note_html and 'href="javascript' not in forward.cover_note_html
    assert forward.body_html == original.body_html


def test_files_go_on_drafts_by_their_author_and_are_checked_by_content(write, people):
    notice = write()
    fake = SimpleUploadedFile("report.pdf", b"not really a pdf", content_type="application/pdf")
    with pytest.raises(ValidationError) as refused:
        services.attachment_add(user=people.bj_publisher, notice=notice, upload=fake)
    assert "file" in refused.value.message_dict
    exe = SimpleUploadedFile("setup.exe", b"MZ\x90\x00", content_type="application/octet-stream")
    with pytest.raises(ValidationError):
        services.attachment_add(user=people.bj_publisher, notice=notice, upload=exe)
    text = SimpleUploadedFile("名单.txt", "张三\n李四".encode("gb18030"), content_type="text/plain")
    with pytest.raises(ValidationError):
        services.attachment_add(user=people.bj_reviewer, notice=notice, upload=text)  # not the author
    added = services.attachment_add(user=people.bj_publisher, notice=notice, upload=text)
    assert added.original_name == "名单.txt" and added.content_type.startswith("text/plain")
    services.notice_submit(user=people.bj_publisher, notice=notice)
    with pytest.raises(ValidationError):
        services.attachment_delete(user=people.bj_publisher, attachment=added)  # no longer a draft


def test_a_forward_carries_the_originals_files_to_its_own_audience(publish, people, tree):
    notice = services.notice_create(
        user=people.bj_publisher,
        unit=tree.beijing,
        data=services.NoticeInput(title="附件通知", body="见附件。", audience_mode="levels", audience_levels=[3]),
    )
    upload = SimpleUploadedFile("通知.txt", "内容".encode(), content_type="text/plain")
    attachment = services.attachment_add(user=people.bj_publisher, notice=notice, upload=upload)
    services.notice_submit(user=people.bj_publisher, notice=notice)
    services.notice_approve(user=people.bj_reviewer, notice=notice)
    # Schools did not receive the province's notice (counties only) ...
    with pytest.raises(Exception):  # noqa: B017 - Http404
        selectors.attachment_get(user=people.teacher_a, notice_id=notice.pk, pk=attachment.pk)
    forward = services.notice_forward(
        user=people.hd_publisher,
        notice=notice,
        unit=tree.haidian,
        data=services.NoticeInput(cover_note="请各校阅知。", audience_mode="subtree"),
    )
    services.notice_submit(user=people.hd_publisher, notice=forward)
    services.notice_approve(user=people.hd_reviewer, notice=forward)
    # ... but the county's forward carries the file to them.
    found = selectors.attachment_get(user=people.teacher_a, notice_id=forward.pk, pk=attachment.pk)
    assert found.pk == attachment.pk


def test_only_publishers_of_the_unit_write_and_a_forward_needs_a_receiving_unit(people, tree, publish):
    with pytest.raises(ValidationError) as refused:
        services.notice_create(
            user=people.teacher_a, unit=tree.school_a, data=services.NoticeInput(title="x", body="y")
        )
    assert "unit" in refused.value.message_dict
    county_only = publish(audience_mode="unit")  # 北京市 itself: 海淀区 did not receive it
    with pytest.raises(ValidationError):
        services.notice_forward(
            user=people.hd_publisher, notice=county_only, unit=tree.haidian, data=services.NoticeInput(cover_note="x")
        )


def test_audience_wide_frames_must_be_declared_not_resumable(db):
    with pytest.raises(ValueError):
        send_group_event(groups=["notices.u.0001"], subscriber="notices", event_type="notice.read", payload={})
