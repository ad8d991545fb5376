"""聊天 over REST: starting conversations, sending, history, unread and read state, recall,
delete-for-me, blocks, files, preferences, presence — and a non-member's 404 for every one of them."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from chat.models import Conversation, Message, MessageSearch
from helpdesk.core.models import StoredEvent
from tests.chat.conftest import client_for

pytestmark = pytest.mark.django_db

API = "/api/v1/chat"


def start(client, other) -> dict:
    response = client.post(f"{API}/conversations/", {"user": other.pk}, format="json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def send(client, conversation_id: int, text: str = "你好", **extra):
    return client.post(f"{API}/conversations/{conversation_id}/messages/", {"text": text, **extra}, format="json")


def events_of(user, event_type: str) -> list[dict]:
    return [row.payload for row in StoredEvent.objects.filter(user_id=user.pk, type=event_type).order_by("seq")]


@pytest.fixture
def chat(zhang, li, django_capture_on_commit_callbacks):
    """张伟 and 李娜 (another province) in one conversation; events stored as after a commit."""
    a, b = client_for(zhang), client_for(li)
    conversation = start(a, li)

    class Chat:
        id = conversation["id"]
        zhang_client, li_client = a, b

        @staticmethod
        def send(client, text="你好", **extra):
            with django_capture_on_commit_callbacks(execute=True):
                return send(client, conversation["id"], text, **extra)

    return Chat


# --- Starting ---------------------------------------------------------------------------------------
def test_one_conversation_per_pair_from_either_side(zhang, li):
    first = client_for(zhang).post(f"{API}/conversations/", {"user": li.pk}, format="json")
    assert first.status_code == 201
    again = client_for(li).post(f"{API}/conversations/", {"user": zhang.pk}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["peer"]["name"] == "李娜" and again.json()["peer"]["name"] == "张伟"
    assert first.json()["kind"] == "direct"
    assert Conversation.objects.count() == 1


def test_starting_with_oneself_or_nobody_is_a_400(zhang, li):
    client = client_for(zhang)
    own = client.post(f"{API}/conversations/", {"user": zhang.pk}, format="json")
    assert own.status_code == 400 and "user" in own.json()["fields"]
    li.is_active = False
    li.save()
    gone = client.post(f"{API}/conversations/", {"user": li.pk}, format="json")
    assert gone.status_code == 400 and "user" in gone.json()["fields"]
    assert client.post(f"{API}/conversations/", {"user": "x"}, format="json").status_code == 400


# --- Sending ------------------------------------------------------------------------------------------
def test_messages_are_numbered_and_delivered_to_both_after_commit(chat, zhang, li):
    for n, text in enumerate(["早上好 😀", "下午开会", "收到"], start=1):
        client = chat.li_client if n == 3 else chat.zhang_client
        response = chat.send(client, text)
        assert response.status_code == 201
        body = response.json()
        assert body["seq"] == n and body["text"] == text and body["kind"] == "text"
    li_events = events_of(li, "chat.message")
    assert [event["message"]["seq"] for event in li_events] == [1, 2, 3]
    assert li_events[0]["message"]["text"] == "早上好 😀"
    assert li_events[0]["message"]["sender"] == {"id": zhang.pk, "name": "张伟"}
    # Unread rises for the recipient; sending reads what came before.
    assert [event["unread"] for event in li_events] == [1, 2, 0]
    assert [event["unread"] for event in events_of(zhang, "chat.message")] == [0, 0, 1]


def test_a_resent_client_id_returns_the_stored_message(chat, zhang, li):
    client_id = str(uuid.uuid4())
    first = chat.send(chat.zhang_client, "只发一次", client_id=client_id)
    assert first.status_code == 201
    again = chat.send(chat.zhang_client, "只发一次", client_id=client_id)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["seq"] == 1
    assert Message.objects.count() == 1
    assert len(events_of(li, "chat.message")) == 1


def test_the_idempotency_key_header_is_a_client_id_too(chat, zhang):
    key = str(uuid.uuid4())
    first = chat.zhang_client.post(
        f"{API}/conversations/{chat.id}/messages/", {"text": "一次"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    again = chat.zhang_client.post(
        f"{API}/conversations/{chat.id}/messages/", {"text": "一次"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert first.status_code == 201 and again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Message.objects.get().client_id == key


def test_text_limits_and_bad_input_are_400_with_field_messages(chat):
    too_long = chat.send(chat.zhang_client, "字" * 5001)
    assert too_long.status_code == 400 and "text" in too_long.json()["fields"]
    assert chat.send(chat.zhang_client, "   ").status_code == 400
    unknown = chat.zhang_client.post(f"{API}/conversations/{chat.id}/messages/", {"txt": "x"}, format="json")
    assert unknown.status_code == 400 and "txt" in unknown.json()["fields"]
    assert chat.send(chat.zhang_client, "字" * 5000).status_code == 201


def test_messages_per_second_are_limited_with_a_clear_error(chat, settings):
    settings.CHAT_MESSAGES_PER_SECOND = 3
    answers = [chat.send(chat.zhang_client, f"第{n}条") for n in range(10)]
    refused = [answer for answer in answers if answer.status_code == 429]
    assert refused, [answer.status_code for answer in answers]
    assert refused[0].json()["code"] == "rate_limited"
    assert "per second" in refused[0].json()["detail"] or "每秒" in refused[0].json()["detail"]
    stored = list(Message.objects.order_by("seq").values_list("seq", flat=True))
    assert stored == list(range(1, len(stored) + 1))  # refused sends take no number


# --- Members only -------------------------------------------------------------------------------------
def test_a_non_member_gets_404_for_everything_and_nothing_is_delivered(chat, outsider, li):
    sent = chat.send(chat.zhang_client, "私聊内容").json()
    other = client_for(outsider)
    base = f"{API}/conversations/{chat.id}"
    assert other.get(f"{base}/").status_code == 404
    assert other.get(f"{base}/messages/").status_code == 404
    assert send(other, chat.id, "插一句").status_code == 404
    assert other.post(f"{base}/read/", {}, format="json").status_code == 404
    assert other.post(f"{base}/typing/", {}, format="json").status_code == 404
    assert other.post(f"{base}/messages/{sent['id']}/recall/", {}, format="json").status_code == 404
    assert other.delete(f"{base}/messages/{sent['id']}/").status_code == 404
    assert other.get(f"{base}/messages/{sent['id']}/file/").status_code == 404
    assert other.get(f"{API}/conversations/").json() == []
    assert Message.objects.count() == 1
    assert events_of(outsider, "chat.message") == []
    assert len(events_of(li, "chat.message")) == 1


# --- History ------------------------------------------------------------------------------------------
def test_history_pages_backwards_forwards_and_by_date(chat):
    for n in range(1, 8):
        chat.send(chat.zhang_client, f"消息{n}")
    base = f"{API}/conversations/{chat.id}/messages/"
    newest = chat.li_client.get(base, {"limit": 3}).json()
    assert [m["seq"] for m in newest["results"]] == [5, 6, 7] and newest["has_more"] is True
    assert newest["last_seq"] == 7 and newest["read_seq"] == 0
    older = chat.li_client.get(base, {"before": 5, "limit": 3}).json()
    assert [m["seq"] for m in older["results"]] == [2, 3, 4]
    oldest = chat.li_client.get(base, {"before": 2, "limit": 3}).json()
    assert [m["seq"] for m in oldest["results"]] == [1] and oldest["has_more"] is False
    forwards = chat.li_client.get(base, {"after": 4}).json()
    assert [m["seq"] for m in forwards["results"]] == [5, 6, 7] and forwards["has_more"] is False
    # Jump to a date: the first four were sent two days ago.
    two_days_ago = timezone.now() - timedelta(days=2)
    Message.objects.filter(seq__lte=4).update(created_at=two_days_ago)
    today = timezone.localdate()
    by_date = chat.li_client.get(base, {"date": today.isoformat()}).json()
    assert [m["seq"] for m in by_date["results"]] == [5, 6, 7]
    day = timezone.localtime(two_days_ago).date().isoformat()
    assert [m["seq"] for m in chat.li_client.get(base, {"date": day, "limit": 2}).json()["results"]] == [1, 2]
    bad = chat.li_client.get(base, {"before": 3, "after": 1})
    assert bad.status_code == 400
    assert chat.li_client.get(base, {"date": "2026-13-40"}).status_code == 400


def test_history_search_finds_chinese_words_in_this_conversation_only(
    chat, zhang, outsider, django_capture_on_commit_callbacks
):
    chat.send(chat.zhang_client, "明天的教研活动改到三楼会议室")
    chat.send(chat.li_client, "好的，我通知其他老师")
    chat.send(chat.zhang_client, "投影仪坏了")
    # The same words in another conversation are not found here.
    other = start(client_for(zhang), outsider)
    with django_capture_on_commit_callbacks(execute=True):
        send(client_for(zhang), other["id"], "三楼会议室的投影仪")
    base = f"{API}/conversations/{chat.id}/messages/"
    found = chat.li_client.get(base, {"q": "会议室"}).json()["results"]
    assert [m["text"] for m in found] == ["明天的教研活动改到三楼会议室"]
    assert [m["seq"] for m in chat.li_client.get(base, {"q": "投影仪"}).json()["results"]] == [3]
    assert chat.li_client.get(base, {"q": "图书馆"}).json()["results"] == []
    assert chat.li_client.get(base, {"q": "😀"}).status_code == 400


# --- Unread and read state ----------------------------------------------------------------------------
def test_unread_per_conversation_and_in_total_and_read_events(
    chat, zhang, li, outsider, django_capture_on_commit_callbacks
):
    for text in ("一", "二", "三"):
        chat.send(chat.zhang_client, text)
    other = start(client_for(outsider), li)
    with django_capture_on_commit_callbacks(execute=True):
        send(client_for(outsider), other["id"], "你好")
    assert chat.li_client.get(f"{API}/unread/").json() == {"total": 4}
    rows = {row["id"]: row for row in chat.li_client.get(f"{API}/conversations/").json()}
    assert rows[chat.id]["unread"] == 3 and rows[other["id"]]["unread"] == 1
    # The most recent conversation first, with its last message.
    assert list(rows) == [other["id"], chat.id]
    assert rows[chat.id]["last_message"]["text"] == "三"
    with django_capture_on_commit_callbacks(execute=True):
        read = chat.li_client.post(f"{API}/conversations/{chat.id}/read/", {"seq": 2}, format="json").json()
    assert read == {"conversation": chat.id, "read_seq": 2, "unread": 1, "total_unread": 2}
    # 张伟 sees 已读 up to 2.
    assert events_of(zhang, "chat.read")[-1] == {"conversation": chat.id, "user": li.pk, "read_seq": 2, "unread": 1}
    assert chat.zhang_client.get(f"{API}/conversations/{chat.id}/").json()["peer_read_seq"] == 2
    # A read position never moves back; without seq it reads everything.
    with django_capture_on_commit_callbacks(execute=True):
        chat.li_client.post(f"{API}/conversations/{chat.id}/read/", {"seq": 1}, format="json")
        everything = chat.li_client.post(f"{API}/conversations/{chat.id}/read/", {}, format="json").json()
    assert everything["read_seq"] == 3 and everything["total_unread"] == 1
    assert [event["read_seq"] for event in events_of(zhang, "chat.read")] == [2, 3]


# --- Recall and delete-for-me -------------------------------------------------------------------------
def test_recall_within_two_minutes_removes_the_content_everywhere(chat, zhang, li, django_capture_on_commit_callbacks):
    sent = chat.send(chat.zhang_client, "发错了：密码是123456").json()
    base = f"{API}/conversations/{chat.id}"
    assert chat.li_client.post(f"{base}/messages/{sent['id']}/recall/", {}, format="json").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        recalled = chat.zhang_client.post(f"{base}/messages/{sent['id']}/recall/", {}, format="json")
    assert recalled.status_code == 200
    assert recalled.json()["recalled"] is True and recalled.json()["text"] == ""
    history = chat.li_client.get(f"{base}/messages/").json()["results"]
    assert history[0]["recalled"] is True and history[0]["text"] == "" and history[0]["seq"] == 1
    assert chat.li_client.get(f"{base}/messages/", {"q": "密码"}).json()["results"] == []
    assert not MessageSearch.objects.exists()
    assert events_of(li, "chat.recalled")[0]["message"]["recalled"] is True
    # The stored chat.message a resuming client would be sent no longer holds the text either.
    for user in (zhang, li):
        stored = events_of(user, "chat.message")[0]["message"]
        assert stored["recalled"] is True and stored["text"] == ""
    assert "123456" not in str(list(StoredEvent.objects.values_list("payload", flat=True)))
    rows = chat.li_client.get(f"{API}/conversations/").json()
    assert rows[0]["last_message"]["recalled"] is True


def test_recall_after_two_minutes_is_refused(chat):
    sent = chat.send(chat.zhang_client, "早就发了").json()
    Message.objects.filter(pk=sent["id"]).update(created_at=timezone.now() - timedelta(minutes=2, seconds=1))
    answer = chat.zhang_client.post(f"{API}/conversations/{chat.id}/messages/{sent['id']}/recall/", {}, format="json")
    assert answer.status_code == 403 and answer.json()["code"] == "recall_window_passed"
    assert Message.objects.get(pk=sent["id"]).text == "早就发了"


def test_delete_for_me_hides_a_message_only_from_me(chat, zhang, django_capture_on_commit_callbacks):
    first = chat.send(chat.zhang_client, "一").json()
    chat.send(chat.zhang_client, "二")
    with django_capture_on_commit_callbacks(execute=True):
        deleted = chat.zhang_client.delete(f"{API}/conversations/{chat.id}/messages/{first['id']}/")
    assert deleted.status_code == 204
    mine = chat.zhang_client.get(f"{API}/conversations/{chat.id}/messages/").json()["results"]
    theirs = chat.li_client.get(f"{API}/conversations/{chat.id}/messages/").json()["results"]
    assert [m["text"] for m in mine] == ["二"]
    assert [m["text"] for m in theirs] == ["一", "二"]
    assert events_of(zhang, "chat.hidden") == [{"conversation": chat.id, "message_id": first["id"]}]
    assert chat.zhang_client.delete(f"{API}/conversations/{chat.id}/messages/{first['id']}/").status_code == 404


# --- Blocks -------------------------------------------------------------------------------------------
def test_a_blocked_sender_is_refused_clearly_and_hears_nothing_more(chat, zhang, li):
    chat.send(chat.zhang_client, "在吗")
    blocked = chat.li_client.post(f"{API}/blocks/", {"user": zhang.pk}, format="json")
    assert blocked.status_code == 201 and blocked.json()["user"]["id"] == zhang.pk
    refused = chat.send(chat.zhang_client, "为什么不回")
    assert refused.status_code == 403 and refused.json()["code"] == "blocked"
    assert "对方已拒收你的消息" in refused.json()["detail"]
    own = chat.send(chat.li_client, "别发了")
    assert own.status_code == 403 and own.json()["code"] == "you_blocked"
    # Reading, typing: the blocked one's sockets hear nothing of it.
    chat.li_client.post(f"{API}/conversations/{chat.id}/read/", {}, format="json")
    assert events_of(zhang, "chat.read") == []
    assert [b["user"]["id"] for b in chat.li_client.get(f"{API}/blocks/").json()] == [zhang.pk]
    assert chat.li_client.delete(f"{API}/blocks/{zhang.pk}/").status_code == 204
    assert chat.li_client.delete(f"{API}/blocks/{zhang.pk}/").status_code == 404
    assert chat.send(chat.zhang_client, "好了吗").status_code == 201
    assert Message.objects.count() == 2


# --- Images and files ---------------------------------------------------------------------------------
def _png(width=800, height=600) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = "截图.png"
    return buffer


def test_an_image_gets_a_thumbnail_and_both_are_served_to_members_only(chat, outsider):
    answer = chat.zhang_client.post(
        f"{API}/conversations/{chat.id}/messages/", {"file": _png(), "client_id": "img-1"}, format="multipart"
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["kind"] == "image" and body["file"]["width"] == 800 and body["file"]["height"] == 600
    assert body["file"]["name"] == "截图.png"
    full = chat.li_client.get(body["file"]["url"])
    assert full.status_code == 200 and full["Content-Type"] == "image/png"
    thumb = chat.li_client.get(body["file"]["thumbnail_url"])
    assert thumb.status_code == 200
    with Image.open(io.BytesIO(b"".join(thumb.streaming_content))) as image:
        assert max(image.size) == 320
    assert chat.li_client.get(body["file"]["url"], {"variant": "huge"}).status_code == 400
    assert client_for(outsider).get(body["file"]["url"]).status_code == 404
    assert client_for(outsider).get(body["file"]["thumbnail_url"]).status_code == 404


def test_a_file_is_a_download_and_bad_uploads_are_400(chat):
    document = io.BytesIO("会议纪要\n一、……".encode())
    document.name = "纪要.txt"
    answer = chat.zhang_client.post(f"{API}/conversations/{chat.id}/messages/", {"file": document}, format="multipart")
    assert answer.status_code == 201
    body = answer.json()
    assert body["kind"] == "file" and body["file"]["thumbnail_url"] is None
    download = chat.li_client.get(body["file"]["url"])
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert chat.li_client.get(body["file"]["url"], {"variant": "thumbnail"}).status_code == 404
    fake = io.BytesIO(b"MZ\x90\x00not an image")
    fake.name = "照片.png"
    refused = chat.zhang_client.post(f"{API}/conversations/{chat.id}/messages/", {"file": fake}, format="multipart")
    assert refused.status_code == 400 and "file" in refused.json()["fields"]
    script = io.BytesIO(b"echo hi")
    script.name = "run.exe"
    assert (
        chat.zhang_client.post(
            f"{API}/conversations/{chat.id}/messages/", {"file": script}, format="multipart"
        ).status_code
        == 400
    )


def test_an_upload_over_the_limit_is_refused(chat, settings):
    settings.CHAT_UPLOAD_MAX_BYTES = 1000
    answer = chat.zhang_client.post(
        f"{API}/conversations/{chat.id}/messages/", {"file": _png(400, 400)}, format="multipart"
    )
    assert answer.status_code == 400 and "file" in answer.json()["fields"]


# --- Preferences, presence ----------------------------------------------------------------------------
def test_font_size_preference(zhang):
    client = client_for(zhang)
    assert client.get(f"{API}/preferences/").json() == {"font_size": 14}
    assert client.patch(f"{API}/preferences/", {"font_size": 18}, format="json").json() == {"font_size": 18}
    assert client.get(f"{API}/preferences/").json() == {"font_size": 18}
    too_big = client.patch(f"{API}/preferences/", {"font_size": 40}, format="json")
    assert too_big.status_code == 400 and "font_size" in too_big.json()["fields"]


def test_presence_answers_offline_without_a_socket_and_checks_its_input(zhang, li):
    client = client_for(zhang)
    assert client.get(f"{API}/presence/", {"users": f"{li.pk}"}).json() == [{"user": li.pk, "online": False}]
    assert client.get(f"{API}/presence/", {"users": "a,b"}).status_code == 400
    assert client.get(f"{API}/presence/").status_code == 400


def test_anonymous_clients_get_401(client):
    assert client.get(f"{API}/conversations/").status_code in (401, 403)


def test_the_chat_is_in_the_openapi_schema(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    for path in (
        "/api/v1/chat/conversations/",
        "/api/v1/chat/conversations/{id}/messages/",
        "/api/v1/chat/conversations/{id}/messages/{message_id}/recall/",
        "/api/v1/chat/conversations/{id}/messages/{message_id}/file/",
        "/api/v1/chat/conversations/{id}/read/",
        "/api/v1/chat/blocks/",
        "/api/v1/chat/preferences/",
        "/api/v1/chat/presence/",
        "/api/v1/chat/unread/",
    ):
        assert path in paths, path


def test_the_conversation_list_reads_a_bounded_number_of_queries(zhang, tree, django_assert_max_num_queries):
    from tests.factories import UserFactory

    client = client_for(zhang)
    for n in range(6):
        other = UserFactory(unit=tree.school_b if n % 2 else tree.school_tj)
        conversation = start(client, other)
        send(client, conversation["id"], f"第{n}条")
    with django_assert_max_num_queries(5):
        rows = client.get(f"{API}/conversations/").json()
    assert len(rows) == 6 and all(row["peer"]["unit_name"] for row in rows)
    assert [row["last_message"]["text"] for row in rows] == [f"第{n}条" for n in reversed(range(6))]
