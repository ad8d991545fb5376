"""Races on PostgreSQL row locks: two people starting the same conversation at once, and many
messages sent into one conversation at once (numbers contiguous, none twice)."""

from __future__ import annotations

import pytest
from django.db import connection

from chat import services
from chat.models import Conversation, Message
from tests.concurrency import require_postgres, run_at_once
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def _postgres():
    require_postgres()


def test_both_starting_the_same_conversation_at_once_make_one(settings):
    zhang, li = UserFactory(), UserFactory()
    found = []
    errors = run_at_once(
        [lambda: found.append(services.conversation_start(user=zhang, other_id=li.pk)[0].pk)] * 2
        + [lambda: found.append(services.conversation_start(user=li, other_id=zhang.pk)[0].pk)] * 2
    )
    assert errors == []
    assert len(set(found)) == 1 and Conversation.objects.count() == 1


def test_concurrent_sends_get_contiguous_numbers_and_resends_no_duplicates(settings):
    settings.CHAT_MESSAGES_PER_SECOND = 1000
    zhang, li = UserFactory(), UserFactory()
    conversation, _ = services.conversation_start(user=zhang, other_id=li.pk)
    jobs = []
    for n in range(12):
        sender = zhang if n % 2 else li
        # Every message sent twice at once with its client id (a resend racing its original).
        for _copy in range(2):
            jobs.append(
                lambda sender=sender, n=n: services.message_send(
                    user=sender, conversation_id=conversation.pk, text=f"并发{n}", client_id=f"race-{n}"
                )
            )
    errors = run_at_once(jobs)
    assert errors == []
    connection.close()
    seqs = sorted(Message.objects.filter(conversation=conversation).values_list("seq", flat=True))
    assert seqs == list(range(1, 13))
    assert Message.objects.values("client_id").distinct().count() == 12
    conversation.refresh_from_db()
    assert conversation.last_seq == 12
