"""/api/v1/notices/: writing, review, inbox, receipts, forwarding, statistics over the API."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from notices import services
from notices.models import Notice

pytestmark = pytest.mark.django_db

BASE = "/api/v1/notices/"


def _create(client, idempotency_key: str = "", **fields):
    data = {
        "title": "关于开展网络安全检查的通知",
        "body": "请各校**按时**完成自查。",
        "audience_mode": "subtree",
    } | fields
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    return client.post(BASE, data, format="json", **headers)


def test_write_review_publish_and_read_through_the_api(people, auth_client, tree):
    client = auth_client(people.bj_publisher)
    created = _create(client, importance="important", receipt_required=True)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["state"] == "draft" and body["unit"] == {"id": tree.beijing.pk, "name": "北京市"}
    assert body["body_html"] == "<p>请各校<strong>按时</strong>完成自查。</p>\n"
    assert "submit" in body["capabilities"]
    pk = body["id"]
    assert client.post(f"{BASE}{pk}/submit/", {}, format="json").json()["state"] == "pending_review"

    reviewer = auth_client(people.bj_reviewer)
    queue = reviewer.get(f"{BASE}review/").json()["results"]
    assert [row["id"] for row in queue] == [pk]
    approved = reviewer.post(f"{BASE}{pk}/approve/", {"note": "同意"}, format="json")
    assert approved.status_code == 200 and approved.json()["state"] == "published"

    teacher = auth_client(people.teacher_a)
    assert teacher.get(f"{BASE}inbox/unread-count/").json() == {"unread": 1}
    inbox = teacher.get(f"{BASE}inbox/").json()
    assert [row["id"] for row in inbox["results"]] == [pk]
    assert inbox["results"][0]["is_read"] is False and inbox["sync_token"]
    detail = teacher.get(f"{BASE}{pk}/").json()
    assert detail["my_receipt"]["read_at"] and detail["my_receipt"]["confirmed_at"] is None
    assert "confirm" in detail["capabilities"]
    assert teacher.get(f"{BASE}inbox/unread-count/").json() == {"unread": 0}
    confirmed = teacher.post(f"{BASE}{pk}/confirm/", {}, format="json").json()
    assert confirmed["my_receipt"]["confirmed_at"]

    timeline = auth_client(people.bj_publisher).get(f"{BASE}{pk}/timeline/").json()
    assert [step["action"] for step in timeline] == ["created", "submitted", "approved", "published"]
    assert timeline[2]["note"] == "同意" and timeline[2]["actor"] == "北京审核员"


def test_addressing_outside_the_subtree_is_a_400_on_the_field(people, auth_client, tree):
    client = auth_client(people.hd_publisher)
    outside = _create(client, audience_mode="units", audience_units=[tree.school_a.pk, tree.school_tj.pk])
    assert outside.status_code == 400
    message = outside.json()["fields"]["audience_units"][0]
    assert "和平小学" in message
    above = _create(client, audience_mode="levels", audience_levels=[1])
    assert above.status_code == 400 and "audience_levels" in above.json()["fields"]
    not_mine = _create(client, unit=tree.tianjin.pk)
    assert not_mine.status_code == 400 and "unit" in not_mine.json()["fields"]
    assert Notice.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": ""}, "title"),
        ({"importance": "critical"}, "importance"),
        ({"audience_mode": "everyone"}, "audience_mode"),
        ({"audience_kinds": ["pilot"]}, "audience_kinds"),
        ({"audience_levels": [9], "audience_mode": "levels"}, "audience_levels"),
        ({"audience_mode": "units", "audience_units": []}, "audience_units"),
        ({"audience_mode": "units", "audience_units": [987654321]}, "audience_units"),
        ({"valid_from": "2030-01-02T00:00:00+08:00", "valid_until": "2030-01-01T00:00:00+08:00"}, "valid_until"),
        ({"publish_at": "2020-01-01T00:00:00+08:00"}, "publish_at"),
        ({"publish_at": "not a date"}, "publish_at"),
        ({"receipt_required": "maybe"}, "receipt_required"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(people, auth_client, fields, field):
    response = _create(auth_client(people.bj_publisher), **fields)
    assert response.status_code == 400, response.json()
    # A list's item is named by its index (audience_kinds.0).
    assert any(name.split(".")[0] == field for name in response.json()["fields"]), response.json()


def test_a_notice_outside_ones_audience_is_404_attachments_included(people, auth_client, write, tree):
    notice = write(unit=tree.haidian, user=people.hd_publisher)
    upload = SimpleUploadedFile("通知.txt", "请各校自查。".encode(), content_type="text/plain")
    attachment = services.attachment_add(user=people.hd_publisher, notice=notice, upload=upload)
    services.notice_submit(user=people.hd_publisher, notice=notice)
    services.notice_approve(user=people.hd_reviewer, notice=notice)

    outsider = auth_client(people.tj_teacher)
    assert outsider.get(f"{BASE}{notice.pk}/").status_code == 404
    assert outsider.get(f"{BASE}{notice.pk}/attachments/").status_code == 404
    assert outsider.get(f"{BASE}{notice.pk}/attachments/{attachment.pk}/download/").status_code == 404
    assert outsider.get(f"{BASE}{notice.pk}/timeline/").status_code == 404
    assert outsider.get(f"{BASE}{notice.pk}/stats/").status_code == 404

    reader = auth_client(people.teacher_a)
    download = reader.get(f"{BASE}{notice.pk}/attachments/{attachment.pk}/download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content).decode() == "请各校自查。"
    # A reader is no statistics viewer.
    assert reader.get(f"{BASE}{notice.pk}/stats/").status_code == 404


def test_a_reviewer_of_another_unit_gets_404(people, auth_client, write, tree):
    notice = write(unit=tree.haidian, user=people.hd_publisher)
    services.notice_submit(user=people.hd_publisher, notice=notice)
    client = auth_client(people.tj_reviewer)
    assert client.get(f"{BASE}{notice.pk}/").status_code == 404
    assert client.post(f"{BASE}{notice.pk}/approve/", {}, format="json").status_code == 404
    assert client.get(f"{BASE}review/").json()["results"] == []
    notice.refresh_from_db()
    assert notice.state == "pending_review"


def test_the_author_cannot_approve_their_own_notice(people, auth_client, write, tree):
    from tests.factories import grant

    grant(people.hd_publisher, tree.haidian, "notice_reviewer")
    notice = write(unit=tree.haidian, user=people.hd_publisher)
    services.notice_submit(user=people.hd_publisher, notice=notice)
    people.hd_publisher.__dict__.pop("_scope", None)
    response = auth_client(people.hd_publisher).post(f"{BASE}{notice.pk}/approve/", {}, format="json")
    assert response.status_code == 400 and "state" in response.json()["fields"]


def test_reject_with_reason_then_revise_and_resubmit(people, auth_client, write):
    notice = write()
    services.notice_submit(user=people.bj_publisher, notice=notice)
    reviewer = auth_client(people.bj_reviewer)
    assert reviewer.post(f"{BASE}{notice.pk}/reject/", {"reason": ""}, format="json").status_code == 400
    returned = reviewer.post(f"{BASE}{notice.pk}/reject/", {"reason": "请补充截止日期"}, format="json").json()
    assert returned["state"] == "rejected"

    publisher = auth_client(people.bj_publisher)
    revised = publisher.patch(f"{BASE}{notice.pk}/", {"body": "请于12月20日前完成自查。"}, format="json")
    assert revised.status_code == 200 and revised.json()["body"] == "请于12月20日前完成自查。"
    assert publisher.post(f"{BASE}{notice.pk}/submit/", {}, format="json").json()["state"] == "pending_review"
    actions = [step["action"] for step in publisher.get(f"{BASE}{notice.pk}/timeline/").json()]
    assert actions == ["created", "submitted", "rejected", "edited", "submitted"]
    assert publisher.get(f"{BASE}{notice.pk}/timeline/").json()[2]["note"] == "请补充截止日期"


def test_withdrawn_notices_stay_in_the_inbox_marked_and_uncounted(people, auth_client, publish):
    notice = publish()
    publisher = auth_client(people.bj_publisher)
    withdrawn = publisher.post(f"{BASE}{notice.pk}/withdraw/", {"reason": "内容有误"}, format="json").json()
    assert withdrawn["state"] == "withdrawn" and withdrawn["withdraw_reason"] == "内容有误"
    teacher = auth_client(people.teacher_a)
    rows = teacher.get(f"{BASE}inbox/").json()["results"]
    assert [(row["id"], row["state"]) for row in rows] == [(notice.pk, "withdrawn")]
    assert teacher.get(f"{BASE}inbox/unread-count/").json() == {"unread": 0}


def test_inbox_delta_sync_brings_new_and_withdrawn_notices(people, auth_client, publish, settings):
    settings.DELTA_SYNC_SETTLE_SECONDS = 0
    first = publish(title="第一份通知")
    teacher = auth_client(people.teacher_a)
    token = teacher.get(f"{BASE}inbox/").json()["sync_token"]
    second = publish(title="第二份通知")
    services.notice_withdraw(user=people.bj_publisher, notice=first)
    delta = teacher.get(f"{BASE}inbox/", {"updated_after": token})
    assert delta.status_code == 200, delta.json()
    rows = {row["id"]: row["state"] for row in delta.json()["results"]}
    assert rows == {first.pk: "withdrawn", second.pk: "published"}
    assert teacher.get(f"{BASE}inbox/", {"updated_after": token, "q": "通知"}).status_code == 400


def test_query_received_and_sent_by_words_unit_state_importance_and_read(people, auth_client, publish, tree):
    exam = publish(title="期末考试安排", body="考试时间为一月十日。", importance="urgent")
    safety = publish(title="寒假安全提醒", body="注意防火防电。")
    county = publish(
        user=people.hd_publisher, unit=tree.haidian, reviewer=people.hd_reviewer, title="海淀区教研活动通知"
    )
    services.notice_mark_read(user=people.teacher_a, notice=safety)
    teacher = auth_client(people.teacher_a)

    def ids(url, **params):
        response = teacher.get(url, params)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids(f"{BASE}inbox/", q="考试") == {exam.pk}
    assert ids(f"{BASE}inbox/", q="防火") == {safety.pk}
    assert ids(f"{BASE}inbox/", importance="urgent") == {exam.pk}
    assert ids(f"{BASE}inbox/", read="false") == {exam.pk, county.pk}
    assert ids(f"{BASE}inbox/", read="true") == {safety.pk}
    assert ids(f"{BASE}inbox/", unit=tree.haidian.pk) == {county.pk}
    assert teacher.get(f"{BASE}inbox/", {"q": "🙂"}).status_code == 400

    publisher = auth_client(people.bj_publisher)
    sent = {row["id"] for row in publisher.get(BASE, {"q": "寒假"}).json()["results"]}
    assert sent == {safety.pk}
    # 北京市's publisher is a superior of 海淀区's: it sees that unit's sent notices too.
    assert {row["id"] for row in publisher.get(BASE, {"unit": tree.haidian.pk}).json()["results"]} == {county.pk}
    states = publisher.get(BASE, {"notice_state": "published"}).json()["results"]
    assert len(states) == 3


def test_reminders_at_most_once_an_hour(people, auth_client, publish):
    notice = publish(receipt_required=True)
    publisher = auth_client(people.bj_publisher)
    first = publisher.post(f"{BASE}{notice.pk}/remind/", {}, format="json")
    assert first.status_code == 200 and first.json()["reminder_count"] == 1
    again = publisher.post(f"{BASE}{notice.pk}/remind/", {}, format="json")
    assert again.status_code == 400
    assert "hour" in again.json()["fields"]["notice"][0] or "小时" in again.json()["fields"]["notice"][0]
    teacher = auth_client(people.teacher_a)
    row = teacher.get(f"{BASE}inbox/").json()["results"][0]
    assert row["reminded"] is True
    actions = [step["action"] for step in auth_client(people.bj_publisher).get(f"{BASE}{notice.pk}/timeline/").json()]
    assert actions.count("reminded") == 1


def test_statistics_drill_down_pending_lists_and_export(people, auth_client, publish, tree):
    notice = publish(receipt_required=True)
    services.notice_mark_read(user=people.teacher_a, notice=notice, confirm=True)
    services.compute_notice_stats(notice.pk)
    client = auth_client(people.bj_publisher)

    top = client.get(f"{BASE}{notice.pk}/stats/").json()
    assert top["unit"]["unit"]["name"] == "北京市"
    assert top["read_total"] == 1 and top["confirmed_total"] == 1
    county = next(row for row in top["children"] if row["unit"]["id"] == tree.haidian.pk)
    assert county["has_children"] is True
    schools = client.get(f"{BASE}{notice.pk}/stats/", {"unit": tree.haidian.pk}).json()["children"]
    school_a = next(row for row in schools if row["unit"]["id"] == tree.school_a.pk)
    assert (school_a["audience"], school_a["read"], school_a["confirmed"]) == (2, 1, 1)
    assert school_a["read_rate"] == 0.5

    pending = client.get(f"{BASE}{notice.pk}/stats/pending-units/", {"level": 4}).json()["results"]
    assert {row["unit"]["id"] for row in pending} == {tree.school_a.pk, tree.school_b.pk}
    people_left = client.get(f"{BASE}{notice.pk}/stats/pending-users/", {"unit": tree.school_a.pk}).json()
    assert [row["username"] for row in people_left["results"]] == ["n_student_a"]
    assert client.get(f"{BASE}{notice.pk}/stats/", {"unit": tree.tianjin.pk}).status_code == 404

    csv_response = client.get(f"{BASE}{notice.pk}/stats/export/")
    text = b"".join(csv_response.streaming_content).decode("utf-8-sig")
    assert "海淀实验小学" in text and "50.0%" in text
    xlsx = client.get(f"{BASE}{notice.pk}/stats/export/", {"export_format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    # Superiors see the statistics; a county below does not see the province's.
    assert auth_client(people.hd_admin).get(f"{BASE}{notice.pk}/stats/").status_code == 404


def test_forward_down_the_tree_through_the_units_own_review(people, auth_client, publish, tree):
    original = publish(title="省级通知", body="请转发至各校。")
    county = auth_client(people.hd_publisher)
    detail = county.get(f"{BASE}{original.pk}/").json()
    assert "forward" in detail["capabilities"]
    assert detail["forward_units"] == [{"id": tree.haidian.pk, "name": "海淀区"}]
    forwarded = county.post(
        f"{BASE}{original.pk}/forward/",
        {"cover_note": "请各校于本周内落实。", "audience_mode": "levels", "audience_levels": [4]},
        format="json",
    )
    assert forwarded.status_code == 201, forwarded.json()
    body = forwarded.json()
    assert body["forwarded"] is True and body["forwarded_from"]["id"] == original.pk
    assert body["title"] == "省级通知" and body["state"] == "draft" and body["unit"]["id"] == tree.haidian.pk
    county.post(f"{BASE}{body['id']}/submit/", {}, format="json")
    # 北京市's reviewer is not 海淀区's: the forward goes through the county's own review.
    assert auth_client(people.bj_reviewer).post(f"{BASE}{body['id']}/approve/", {}, format="json").status_code == 400
    approved = auth_client(people.hd_reviewer).post(f"{BASE}{body['id']}/approve/", {}, format="json")
    assert approved.json()["state"] == "published"
    teacher_inbox = auth_client(people.teacher_b).get(f"{BASE}inbox/").json()["results"]
    assert {row["id"] for row in teacher_inbox} == {original.pk, body["id"]}

    # A unit that did not receive it (天津) cannot forward it; nor can a unit outside its audience.
    outside = auth_client(people.tj_reviewer).post(f"{BASE}{original.pk}/forward/", {"cover_note": "x"}, format="json")
    assert outside.status_code == 404


def test_a_user_moved_to_another_unit_resyncs_and_sees_what_the_new_unit_covers(
    people, auth_client, publish, tree, settings
):
    from accounts import services as account_services

    settings.DELTA_SYNC_SETTLE_SECONDS = 0
    for_school_b = publish(audience_mode="units", audience_units=[tree.school_b])
    teacher = auth_client(people.teacher_a)
    first = teacher.get(f"{BASE}inbox/").json()
    assert first["results"] == []
    account_services.user_update(actor=people.hd_admin, user=people.teacher_a, data={"unit": tree.school_b})
    people.teacher_a.__dict__.pop("_scope", None)
    stale = teacher.get(f"{BASE}inbox/", {"updated_after": first["sync_token"]})
    assert stale.status_code == 410 and stale.json()["code"] == "resync_required"
    assert [row["id"] for row in teacher.get(f"{BASE}inbox/").json()["results"]] == [for_school_b.pk]


@pytest.mark.parametrize(
    ("url", "params", "status"),
    [
        (f"{BASE}inbox/", {"unit": "abc"}, 400),
        (f"{BASE}inbox/", {"unit": "99999999"}, 400),
        (f"{BASE}inbox/", {"published_after": "yesterday"}, 400),
        (f"{BASE}inbox/", {"read": "maybe"}, 400),
        (f"{BASE}inbox/", {"importance": "critical"}, 400),
        (f"{BASE}inbox/", {"updated_after": "2999-01-01T00:00:00+08:00"}, 400),
        (f"{BASE}inbox/", {"page_size": "0"}, 400),
        (f"{BASE}inbox/", {"cursor": "not-a-cursor"}, 404),
        (f"{BASE}inbox/", {"colour": "red"}, 400),
        (BASE, {"notice_state": "lost"}, 400),
        (BASE, {"published_after": "2026-12-05T00:00:00+08:00", "published_before": "2026-12-01T00:00:00+08:00"}, 400),
        (f"{BASE}987654321/", {}, 404),
        (f"{BASE}987654321/stats/", {}, 404),
    ],
)
def test_hostile_query_values_are_400_or_404_never_500(people, auth_client, url, params, status):
    response = auth_client(people.teacher_a).get(url, params)
    assert response.status_code == status, response.json()
    assert response["Content-Type"] == "application/json"


def test_the_index_of_the_api_lists_notices_and_the_unread_badge_answers(people, auth_client, publish):
    publish()
    client = auth_client(people.teacher_b)
    resources = client.get("/api/v1/").json()["resources"]
    assert resources["notices_inbox"].endswith("/api/v1/notices/inbox/")
    assert client.get(resources["notices"]).status_code == 200
    assert client.get(f"{BASE}inbox/unread-count/").json() == {"unread": 1}


def test_the_sent_list_syncs_by_delta(people, auth_client, write, settings):
    settings.DELTA_SYNC_SETTLE_SECONDS = 0
    notice = write()
    publisher = auth_client(people.bj_publisher)
    first = publisher.get(BASE).json()
    assert [row["id"] for row in first["results"]] == [notice.pk] and first["sync_token"]
    services.notice_submit(user=people.bj_publisher, notice=notice)
    delta = publisher.get(BASE, {"updated_after": first["sync_token"]}).json()
    assert [(row["id"], row["state"]) for row in delta["results"]] == [(notice.pk, "pending_review")]
    assert publisher.get(BASE, {"updated_after": first["sync_token"], "q": "通知"}).status_code == 400


def test_the_inbox_and_the_badge_cost_the_same_queries_for_3_or_12_notices(people, auth_client, publish):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    teacher = auth_client(people.teacher_a)

    def queries(url) -> int:
        cache.delete(f"notices:unread:c:{people.teacher_a.pk}")  # the badge is counted, not read from the cache
        with CaptureQueriesContext(connection) as captured:
            assert teacher.get(url).status_code == 200
        return len(captured)

    for index in range(3):
        publish(title=f"通知{index}")
    queries(f"{BASE}inbox/")  # the user's unit and roles, read once per user object
    few = (queries(f"{BASE}inbox/"), queries(f"{BASE}inbox/unread-count/"))
    for index in range(9):
        publish(title=f"更多通知{index}")
    assert (queries(f"{BASE}inbox/"), queries(f"{BASE}inbox/unread-count/")) == few


def test_a_write_retried_with_its_idempotency_key_happens_once(people, auth_client):
    client = auth_client(people.bj_publisher)
    first = _create(client, idempotency_key="draft-1")
    again = _create(client, idempotency_key="draft-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first.json()["id"]
    assert Notice.objects.count() == 1


def test_the_export_keeps_a_unit_name_typed_as_a_formula_as_text(people, auth_client, publish, tree):
    import io

    from openpyxl import load_workbook

    from orgtree.models import OrgLevel
    from tests.factories import UserFactory, make_unit

    school = make_unit(tree.haidian, '=HYPERLINK("http://evil.example","点我")', "S110108077", OrgLevel.SCHOOL)
    UserFactory(username="n_formula_teacher", unit=school)
    notice = publish()
    services.compute_notice_stats(notice.pk)
    client = auth_client(people.bj_publisher)
    text = b"".join(client.get(f"{BASE}{notice.pk}/stats/export/").streaming_content).decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    xlsx = client.get(f"{BASE}{notice.pk}/stats/export/", {"export_format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    names = [row[0].value for row in sheet.iter_rows(min_row=2)]
    cell = next(row[0] for row in sheet.iter_rows(min_row=2) if str(row[0].value).startswith("=HYPERLINK"))
    assert cell.data_type == "s", names


def test_a_revision_changing_the_kind_of_audience_drops_the_old_choices(people, auth_client, tree):
    client = auth_client(people.bj_publisher)
    pk = _create(client, audience_mode="units", audience_units=[tree.school_a.pk]).json()["id"]
    revised = client.patch(f"{BASE}{pk}/", {"audience_mode": "levels", "audience_levels": [4]}, format="json")
    assert revised.status_code == 200, revised.json()
    assert revised.json()["audience"] == {
        "mode": "levels",
        "units": [],
        "chosen_with_subtrees": False,
        "levels": [4],
        "kinds": [],
    }
    back = client.patch(f"{BASE}{pk}/", {"audience_mode": "subtree"}, format="json").json()["audience"]
    assert back["mode"] == "subtree" and back["levels"] == []


def test_the_review_queue_pages_oldest_submission_first(people, auth_client, write):
    from tests.api_helpers import walk

    for index in range(5):
        services.notice_submit(user=people.bj_publisher, notice=write(title=f"待审{index}"))
    pages = walk(auth_client(people.bj_reviewer), f"{BASE}review/?page_size=2")
    assert [row["title"] for page in pages for row in page] == [f"待审{index}" for index in range(5)]
