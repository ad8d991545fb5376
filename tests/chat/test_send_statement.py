"""A text message's send (chat.services.messages.message_send): on PostgreSQL one statement
(chat.sql.SEND_TEXT_SQL), elsewhere and for files the ORM in a transaction. Each guarantee is checked
through the service on whichever database runs the tests, and on PostgreSQL both ways are run from
the same state and must store the same rows and events."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.utils import timezone

from chat import events, selectors, services
from chat.models import Conversation, Membership, Message, MessageSearch
from chat.services import group_members, groups
from chat.services import messages as message_services
from helpdesk.core import eventlog
from helpdesk.core import events as core_events
from helpdesk.core.models import StoredEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def direct(zhang, li):
    conversation, _created = services.conversation_start(user=zhang, other_id=li.pk)
    return conversation


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    def run(user, conversation_id, text="你好，收到请回复 👍", client_id=""):
        with django_capture_on_commit_callbacks(execute=True):
            return services.message_send(user=user, conversation_id=conversation_id, text=text, client_id=client_id)

    return run


def chat_messages(user) -> list[dict]:
    return [row.payload for row in StoredEvent.objects.filter(user_id=user.pk, type="chat.message").order_by("seq")]


def test_a_message_is_numbered_read_by_its_sender_searchable_and_resumable(zhang, li, direct, send):
    first = send(zhang, direct.pk, "明天的教研活动改到三楼会议室", client_id="m-1")
    second = send(zhang, direct.pk, "收到请回复", client_id="m-2")
    assert first.created and second.created and (first.message.seq, second.message.seq) == (1, 2)
    conversation = Conversation.objects.get(pk=direct.pk)
    assert conversation.last_seq == 2 and conversation.last_message_at == second.message.created_at
    reads = dict(Membership.objects.filter(conversation=direct).values_list("user_id", "read_seq"))
    assert reads == {zhang.pk: 2, li.pk: 0}
    # Each member's event carries their own unread count and the message as REST shows it.
    assert [p["unread"] for p in chat_messages(li)] == [1, 2]
    assert [p["unread"] for p in chat_messages(zhang)] == [0, 0]
    assert chat_messages(li)[1]["message"] == events.message_data(Message.objects.get(pk=second.message.pk))
    # 李娜 resumes from before both: every message, in order, once.
    replay = eventlog.replay(li.pk, after=0)
    assert [e.payload["message"]["client_id"] for e in replay.events if e.type == "chat.message"] == ["m-1", "m-2"]
    found = selectors.history(user=li, conversation=direct, query="会议室").messages
    assert [m.pk for m in found] == [first.message.pk]
    assert MessageSearch.objects.filter(message_id=second.message.pk).exists()


def test_a_resent_client_id_returns_the_stored_message_and_announces_nothing_more(zhang, li, outsider, direct, send):
    first = send(zhang, direct.pk, client_id="once")
    again = send(zhang, direct.pk, client_id="once")
    assert not again.created and again.message.pk == first.message.pk and again.message.seq == 1
    assert Message.objects.filter(conversation=direct).count() == 1 and len(chat_messages(li)) == 1
    assert Conversation.objects.get(pk=direct.pk).last_seq == 1
    # The same id in another conversation is an error, not a second message.
    other, _created = services.conversation_start(user=zhang, other_id=outsider.pk)
    with pytest.raises(ValidationError):
        send(zhang, other.pk, client_id="once")
    assert not Message.objects.filter(conversation=other).exists()


def test_a_resend_over_the_rate_limit_is_still_answered(zhang, direct, send, settings):
    first = send(zhang, direct.pk, client_id="r-1")
    settings.CHAT_MESSAGES_PER_SECOND = 1
    codes = []
    for n in range(3):
        try:
            send(zhang, direct.pk, client_id=f"r-new-{n}")
        except services.ChatRefused as exc:
            codes.append(exc.code)
    again = send(zhang, direct.pk, client_id="r-1")
    assert codes and set(codes) == {"rate_limited"}
    assert not again.created and again.message.pk == first.message.pk


def test_a_non_member_or_a_deactivated_sender_gets_404_and_nothing_is_stored(zhang, li, outsider, direct, send):
    with pytest.raises(Http404):
        send(outsider, direct.pk, client_id="x-1")
    with pytest.raises(Http404):
        send(outsider, direct.pk + 10_000, client_id="x-2")
    type(zhang).objects.filter(pk=zhang.pk).update(is_active=False)
    zhang.refresh_from_db()
    with pytest.raises(Http404):
        send(zhang, direct.pk, client_id="x-3")
    assert not Message.objects.filter(conversation=direct).exists()
    assert not StoredEvent.objects.filter(type="chat.message").exists()
    assert Conversation.objects.get(pk=direct.pk).last_seq == 0


def test_a_block_either_way_refuses_the_message(zhang, li, direct, send):
    services.block_add(user=li, other_id=zhang.pk)
    with pytest.raises(services.ChatRefused) as refused:
        send(zhang, direct.pk)
    assert refused.value.code == "blocked"
    with pytest.raises(services.ChatRefused) as refused:
        send(li, direct.pk)
    assert refused.value.code == "you_blocked"
    assert not Message.objects.filter(conversation=direct).exists() and not chat_messages(li)


def test_in_a_group_mutes_and_disbanding_refuse_but_administrators_still_send(zhang, li, outsider, send):
    group = groups.group_create(user=zhang, name="教研组", member_ids=[li.pk, outsider.pk])
    group_members.mute_set(user=zhang, conversation_id=group.pk, muted=True, user_id=li.pk)
    with pytest.raises(services.ChatRefused) as refused:
        send(li, group.pk)
    assert refused.value.code == "muted"
    assert send(outsider, group.pk, "大家好").created
    group_members.mute_set(user=zhang, conversation_id=group.pk, muted=True)
    with pytest.raises(services.ChatRefused) as refused:
        send(outsider, group.pk)
    assert refused.value.code == "muted" and "全员禁言" in refused.value.message
    by_owner = send(zhang, group.pk, "只有管理员可以发言")
    assert by_owner.created
    # Every member heard it, each with their own unread count.
    unread = [chat_messages(user)[-1]["unread"] for user in (zhang, li, outsider)]
    assert unread[0] == 0 and unread[1] > unread[2] > 0
    group_members.group_disband(user=zhang, conversation_id=group.pk)
    with pytest.raises(services.ChatRefused) as refused:
        send(zhang, group.pk)
    assert refused.value.code == "disbanded"


class _AsSqlite:
    """The database connection, saying it is not PostgreSQL: the service takes its ORM path."""

    vendor = "sqlite"

    def __getattr__(self, name):
        return getattr(connection, name)


def test_both_ways_of_sending_store_the_same_rows_and_push_what_they_store(zhang, li, send, monkeypatch):
    from tests.concurrency import require_postgres

    require_postgres()
    moment = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: moment)
    pushed: list = []
    monkeypatch.setattr(core_events, "_push", lambda deliveries: pushed.extend(deliveries))

    def stored(conversation_id: int) -> dict:
        message = Message.objects.get(conversation_id=conversation_id)
        fields = [f.attname for f in Message._meta.concrete_fields if f.attname not in ("id", "conversation_id")]
        events = StoredEvent.objects.filter(type="chat.message", payload__conversation=conversation_id)
        return {
            "message": [getattr(message, name) for name in fields],
            "search": MessageSearch.objects.get(message=message).text,
            "conversation": Conversation.objects.filter(pk=conversation_id).values_list("last_seq", "last_message_at")[
                0
            ],
            "reads": sorted(
                Membership.objects.filter(conversation_id=conversation_id).values_list("user_id", "read_seq", "read_at")
            ),
            "events": sorted(
                (
                    e.user_id,
                    e.origin,
                    e.created_at,
                    {**e.payload, "conversation": 0, "message": {**e.payload["message"], "id": 0, "conversation": 0}},
                )
                for e in events
            ),
        }

    results = []
    for way in ("one_statement", "orm"):
        if way == "orm":
            monkeypatch.setattr(message_services, "connection", _AsSqlite())
        Conversation.objects.filter(kind="direct").delete()
        conversation, _created = services.conversation_start(user=zhang, other_id=li.pk)
        pushed.clear()
        sent = send(zhang, conversation.pk, "周三下午教研 👍", client_id="same")
        results.append(stored(conversation.pk))
        # What was pushed is what was stored, event for event.
        frames = {(group, m["event"]["id"]): m["event"] for group, m in pushed if m["event"]["type"] == "chat.message"}
        for event in StoredEvent.objects.filter(type="chat.message", payload__conversation=conversation.pk):
            assert frames[(f"user.{event.user_id}", event.seq)]["payload"] == event.payload
        assert sent.message.seq == 1
        Message.objects.filter(conversation=conversation).delete()
    assert results[0] == results[1]


def test_the_earlier_client_id_is_looked_up_in_its_index_not_among_all_the_senders_messages(zhang, direct):
    """The send runs as a prepared statement with one generic plan: its check for an earlier use of the
    client id must go through the partial unique index on (sender, client id). A plan that read the
    sender's messages by sender and filtered them made every send slower the more its sender had sent
    (1 ms of PostgreSQL's 1.4 ms per message at 2,400 messages, bench_chat). The same holds for the
    messages-per-second count: the (sender, time) index, not the sender's history."""
    from chat import sql
    from helpdesk.core.db import _numbered_placeholders
    from tests.concurrency import require_postgres

    require_postgres()
    now = timezone.now()
    params = [direct.pk, zhang.pk, "c-1", "你好", now, "你好", "{}", events.CHAT_MESSAGE, 10, "", now]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("PREPARE chat_send_plan AS " + _numbered_placeholders(sql.SEND_TEXT_SQL))
        try:
            cursor.execute(f"EXPLAIN EXECUTE chat_send_plan({', '.join(['%s'] * len(params))})", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE chat_send_plan")
    earlier = plan.split("\n  CTE earlier", 1)[1].split("\n  CTE ", 1)[0]
    assert "chat_message_client_id_unique" in earlier, plan
    # (The count is used once, so it is planned inline: the only use of this index in the statement.)
    assert "chat_message_sender_time_idx" in plan, plan
