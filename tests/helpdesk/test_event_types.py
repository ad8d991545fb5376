"""The events registry: only declared event types leave, payloads match their schemas, and the
socket's AsyncAPI description lists them all."""

from __future__ import annotations

import pytest
from django.db import transaction
from jsonschema import Draft202012Validator

from helpdesk.core import event_types
from helpdesk.core.events import send_event


def test_an_undeclared_event_type_is_refused_before_anything_is_sent(db, settings):
    settings.HELPDESK_VALIDATE_EVENTS = False  # refused even where payloads are not checked
    with pytest.raises(event_types.UnknownEventType), transaction.atomic():
        send_event(user_ids=[1], event_type="ticket.made_up", payload={})


def test_a_payload_that_drifts_from_its_schema_fails_where_it_is_sent(db, settings):
    settings.HELPDESK_VALIDATE_EVENTS = True
    with pytest.raises(event_types.InvalidEventPayload) as exc, transaction.atomic():
        send_event(user_ids=[1], event_type="session.ended", payload={"reason": "bored"})
    assert "reason" in str(exc.value)


def test_every_declared_schema_is_valid_json_schema():
    declared = event_types.all_types()
    assert {"hello", "session.ended", "ticket.created", "ticket.follow_up"} <= {t.name for t in declared}
    for event_type in declared:
        Draft202012Validator.check_schema(event_type.payload)
        for example in event_type.examples:
            event_types.validate(event_type.name, example)


def test_declaring_a_name_twice_differently_is_an_error():
    with pytest.raises(ValueError):
        event_types.register(event_types.EventType("hello", "another hello", event_types.obj({})))


def test_the_asyncapi_document_describes_every_event_type(client):
    response = client.get("/api/asyncapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["asyncapi"].startswith("2.")
    assert document["servers"]["platform"]["url"] == "ws://testserver/ws/"
    messages = document["components"]["messages"]
    assert {message["name"] for message in messages.values()} == {t.name for t in event_types.all_types()}
    refs = document["channels"]["/ws/"]["subscribe"]["message"]["oneOf"]
    assert len(refs) == len(messages)
    ended = messages["session_ended"]["payload"]
    assert ended["properties"]["payload"]["properties"]["reason"]["enum"] == [
        "signed_out",
        "token_revoked",
        "deactivated",
        "token_expired",
    ]
    assert "sent_at" in ended["properties"]


def test_the_readme_lists_every_event_type():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    missing = [t.name for t in event_types.all_types() if f"| `{t.name}` |" not in readme]
    assert missing == []
