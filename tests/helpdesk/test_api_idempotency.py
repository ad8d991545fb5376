"""Idempotency-Key on API writes (helpdesk/core/api/idempotency.py, issue 12): a retried or
double-tapped write with the same key is done once and answered the same; a reused key with another
request is a 422; a malformed key a 400; keys hold 24 hours."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from accounts.models import User
from helpdesk.core.api.idempotency import IdempotencyGate, prune_idempotency_records
from helpdesk.core.models import IdempotencyRecord
from tests.concurrency import require_postgres, run_at_once
from tickets.models import Ticket, TicketAttachment

pytestmark = pytest.mark.django_db

TICKETS = "/api/v1/tickets/"
QUESTION = {"title": "投影仪无法开机", "description": "指示灯常亮，无法开机", "type": "hardware", "priority": "P2"}


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def _post(client, body, key, url=TICKETS, **extra):
    return client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


def test_a_retried_create_files_one_ticket_and_gets_the_first_answer_again(teacher):
    client = _client(teacher)
    first = _post(client, QUESTION, "7f0c1e9a-create-1")
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    again = _post(client, QUESTION, "7f0c1e9a-create-1")
    assert again.status_code == 201
    assert again.content == first.content
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert again["Content-Type"] == first["Content-Type"]
    assert Ticket.objects.filter(asker=teacher).count() == 1
    # The same body written differently (key order, spacing) is the same request.
    reordered = client.generic(
        "POST",
        TICKETS,
        '{"priority":"P2",  "type":"hardware","description":"指示灯常亮，无法开机","title":"投影仪无法开机"}',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="7f0c1e9a-create-1",
    )
    assert reordered.status_code == 201 and reordered.content == first.content
    # Another key is another request.
    assert _post(client, QUESTION, "7f0c1e9a-create-2").status_code == 201
    assert Ticket.objects.filter(asker=teacher).count() == 2


def test_without_a_key_nothing_is_remembered(teacher):
    client = _client(teacher)
    assert client.post(TICKETS, QUESTION, format="json").status_code == 201
    assert client.post(TICKETS, QUESTION, format="json").status_code == 201
    assert Ticket.objects.filter(asker=teacher).count() == 2
    assert not IdempotencyRecord.objects.exists()


def test_a_refusal_is_replayed_too_and_a_key_is_per_user(teacher, tianjin_teacher):
    client = _client(teacher)
    refused = _post(client, QUESTION | {"type": "weather"}, "k-refused")
    assert refused.status_code == 400
    replayed = _post(client, QUESTION | {"type": "weather"}, "k-refused")
    assert (replayed.status_code, replayed.content) == (400, refused.content)
    assert replayed["Idempotent-Replayed"] == "true"
    # The same key from someone else is theirs: it files their ticket.
    other = _post(_client(tianjin_teacher), QUESTION, "k-refused")
    assert other.status_code == 201 and "Idempotent-Replayed" not in other


def test_a_reused_key_with_another_body_path_or_method_is_422(teacher):
    client = _client(teacher)
    pk = _post(client, QUESTION, "k-reused").json()["id"]
    others = [
        client.post(TICKETS, QUESTION | {"title": "打印机卡纸"}, format="json", HTTP_IDEMPOTENCY_KEY="k-reused"),
        client.post(f"{TICKETS}{pk}/withdraw/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k-reused"),
        client.put(TICKETS, QUESTION, format="json", HTTP_IDEMPOTENCY_KEY="k-reused"),
    ]
    for response in others:
        assert response.status_code == 422, response.content
        body = response.json()
        assert body["code"] == "idempotency_key_mismatch" and body["detail"]
    assert Ticket.objects.filter(asker=teacher).count() == 1
    assert Ticket.objects.get(pk=pk).state == "new"
    # The first answer is still there for a true retry.
    assert _post(client, QUESTION, "k-reused")["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "   ", "x" * 256])
def test_an_empty_or_too_long_key_is_400_and_nothing_is_done(teacher, key):
    response = _post(_client(teacher), QUESTION, key, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid" and list(body["fields"]) == ["Idempotency-Key"]
    assert not Ticket.objects.exists()


def test_a_key_of_255_characters_is_taken(teacher):
    client = _client(teacher)
    assert _post(client, QUESTION, "k" * 255).status_code == 201
    assert _post(client, QUESTION, "k" * 255)["Idempotent-Replayed"] == "true"


def test_a_key_holds_24_hours_then_the_request_runs_again(teacher):
    client = _client(teacher)
    first = _post(client, QUESTION, "k-expiry")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=23, minutes=59))
    assert _post(client, QUESTION, "k-expiry")["Idempotent-Replayed"] == "true"
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    # Past 24 hours the key is free again, for this body or another.
    later = _post(client, QUESTION | {"title": "打印机卡纸"}, "k-expiry")
    assert later.status_code == 201 and "Idempotent-Replayed" not in later
    assert later.json()["id"] != first.json()["id"]
    assert Ticket.objects.filter(asker=teacher).count() == 2
    assert IdempotencyRecord.objects.get().fingerprint  # the one row, now the new request's


def test_a_key_still_running_is_waited_for_then_409_and_a_dead_claim_is_taken_over(teacher, settings):
    """While the first request runs, its claim has no answer yet: a second one waits for it (the race
    test below), and past the waiting time answers 409. A claim whose request died (no answer after
    5 minutes) does not block the key forever."""
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.2
    client = _client(teacher)
    fingerprint_of = _post(client, QUESTION, "k-probe")  # to learn the request's fingerprint
    assert fingerprint_of.status_code == 201
    fingerprint = IdempotencyRecord.objects.get(key="k-probe").fingerprint
    running = IdempotencyRecord.objects.create(user=teacher, key="k-running", fingerprint=fingerprint)
    response = _post(client, QUESTION, "k-running")
    assert response.status_code == 409 and response.json()["code"] == "idempotency_key_in_use"
    assert Ticket.objects.filter(asker=teacher).count() == 1
    IdempotencyRecord.objects.filter(pk=running.pk).update(created_at=timezone.now() - timedelta(minutes=6))
    taken_over = _post(client, QUESTION, "k-running")
    assert taken_over.status_code == 201 and "Idempotent-Replayed" not in taken_over
    assert Ticket.objects.filter(asker=teacher).count() == 2
    assert _post(client, QUESTION, "k-running")["Idempotent-Replayed"] == "true"


def test_the_hourly_task_prunes_records_past_24_hours(teacher):
    from helpdesk.tasks import prune_idempotency_records as task

    client = _client(teacher)
    for key in ("old-1", "old-2", "fresh"):
        _post(client, QUESTION, key)
    IdempotencyRecord.objects.exclude(key="fresh").update(created_at=timezone.now() - timedelta(hours=25))
    assert task() == 2
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
    assert prune_idempotency_records() == 0


def test_a_5xx_answer_is_not_kept_and_a_retry_runs_again(teacher, monkeypatch):
    from tickets.api import views

    client = _client(teacher)
    client.raise_request_exception = False
    original = views.TicketViewSet._detail

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(views.TicketViewSet, "_detail", broken)
    assert _post(client, QUESTION, "k-5xx").status_code == 500
    assert not IdempotencyRecord.objects.exists()
    monkeypatch.setattr(views.TicketViewSet, "_detail", original)
    retried = _post(client, QUESTION, "k-5xx")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried


def test_an_account_create_is_idempotent_too(auth_client, haidian_admin, tree):
    """Not a per-view feature: every API write takes the header (here accounts')."""
    client = auth_client(haidian_admin)
    body = {"account": "zhang_san", "name": "张三", "unit": tree.school_a.pk}
    first = client.post("/api/v1/accounts/", body, format="json", HTTP_IDEMPOTENCY_KEY="acc-1")
    assert first.status_code == 201, first.content
    again = client.post("/api/v1/accounts/", body, format="json", HTTP_IDEMPOTENCY_KEY="acc-1")
    # The one-time password comes back the same: it is the same account, issued once.
    assert (again.status_code, again.content) == (201, first.content)
    assert User.objects.filter(username="zhang_san").count() == 1


def _png(name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def test_a_multipart_create_is_the_same_request_whatever_its_boundary(teacher):
    client = _client(teacher)

    def send(boundary: str, picture: str = "screen.png"):
        from django.test.client import encode_multipart

        body = encode_multipart(boundary, QUESTION | {"attachments": [_png(picture)]})
        return client.generic(
            "POST",
            TICKETS,
            body,
            content_type=f"multipart/form-data; boundary={boundary}",
            HTTP_IDEMPOTENCY_KEY="k-multipart",
        )

    first = send("----first")
    assert first.status_code == 201, first.content
    again = send("----second")
    assert (again.status_code, again["Idempotent-Replayed"]) == (201, "true")
    assert TicketAttachment.objects.count() == 1
    assert send("----third", picture="other.png").status_code == 422


def _write_views():
    """Every API view class with a write method, from the URLconf."""

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                yield pattern.callback

    for callback in walk(get_resolver().url_patterns):
        cls = getattr(callback, "cls", None)
        actions = getattr(callback, "actions", None) or {}
        methods = set(actions) if actions else {m for m in ("post", "put", "patch", "delete") if hasattr(cls, m)}
        if cls is not None and methods & {"post", "put", "patch", "delete"}:
            yield cls


def test_every_api_view_that_writes_claims_keys():
    """The gate is a default throttle class; a view that sets its own throttles must keep it."""
    classes = set(_write_views())
    assert len(classes) >= 8
    missing = sorted(cls.__name__ for cls in classes if IdempotencyGate not in cls.throttle_classes)
    assert missing == []


# --- Two at once ------------------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_identical_creates_at_once_file_one_ticket_and_answer_alike(teacher):
    require_postgres()
    for round_ in range(3):
        answers: list = []

        def create(key=f"race-{round_}", answers=answers):
            # Each thread its own client (and database connection), the same user and key: a double tap.
            response = _post(_client(teacher), QUESTION, key)
            answers.append((response.status_code, response.content, response.get("Location")))

        errors = run_at_once([create, create])
        assert errors == []
        assert len(answers) == 2 and answers[0] == answers[1], answers
        assert answers[0][0] == 201
    assert Ticket.objects.filter(asker=teacher).count() == 3
