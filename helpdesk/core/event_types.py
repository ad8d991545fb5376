"""The registry of realtime event types: what a client can receive on ``/ws/``, and its payload schema.

Each app declares its event types in its own ``events.py`` with ``register`` (the socket's own frames,
``hello``, ``pong``, ``error`` and ``session.ended``, are declared here). ``helpdesk.core.events``
refuses to send a type that is not registered, and with ``HELPDESK_VALIDATE_EVENTS`` on (the tests
turn it on) checks every payload against its JSON Schema before it leaves, so a payload that drifts
from its documentation fails the test that sent it. ``asyncapi_document`` describes the socket and
every registered type for client generators, served beside the OpenAPI schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class UnknownEventType(LookupError):
    pass


class InvalidEventPayload(ValueError):
    pass


@dataclass(frozen=True)
class EventType:
    """One kind of frame the server pushes: ``{"type": name, "payload": …, "sent_at": …}``."""

    name: str
    summary: str
    payload: dict[str, Any]  # JSON Schema of the payload
    # Frames the socket itself sends (hello, pong …) carry no sent_at.
    socket_frame: bool = False
    # Stored in each recipient's event log with an id the client resumes from (helpdesk.core.eventlog).
    # False for frames about the connection itself (session.ended) and for events to audiences too
    # large for one row per recipient, which clients catch up on through the named REST list instead.
    resumable: bool = True
    resync_via: str = ""
    examples: tuple[dict[str, Any], ...] = field(default_factory=tuple)


_REGISTRY: dict[str, EventType] = {}


def register(*event_types: EventType) -> tuple[EventType, ...]:
    """Declare event types (at import of an app's events.py). Registering a name twice with a
    different declaration is a programming error."""
    for event_type in event_types:
        known = _REGISTRY.get(event_type.name)
        if known is not None and known != event_type:
            raise ValueError(f"event type {event_type.name!r} is declared twice, differently")
        _REGISTRY[event_type.name] = event_type
    return event_types


def get(name: str) -> EventType:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownEventType(f"{name!r} is not a registered event type; declare it in an app's events.py") from None


def all_types() -> list[EventType]:
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def validate(name: str, payload: dict[str, Any]) -> None:
    """Raise InvalidEventPayload when ``payload`` does not match the type's schema."""
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(get(name).payload).iter_errors(payload), key=lambda error: error.path)
    if errors:
        details = "; ".join(f"{'/'.join(map(str, error.path)) or '(payload)'}: {error.message}" for error in errors)
        raise InvalidEventPayload(f"{name}: {details}")


def obj(properties: dict[str, Any], *, required: list[str] | None = None) -> dict[str, Any]:
    """A closed JSON object schema: every property required unless listed otherwise."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
    }


INTEGER = {"type": "integer"}
STRING = {"type": "string"}


def asyncapi_document(*, server_url: str = "ws://localhost:8000/ws/") -> dict[str, Any]:
    """An AsyncAPI 2.6 description of ``/ws/``: how to connect and every frame the server sends."""
    messages = {}
    for event_type in all_types():
        properties: dict[str, Any] = {"type": {"const": event_type.name}, "payload": event_type.payload}
        if not event_type.socket_frame and event_type.resumable:
            properties["id"] = {
                "type": "integer",
                "minimum": 1,
                "description": "The user's event id: strictly increasing per user; resume with ?last_event_id=",
            }
        if not event_type.socket_frame:
            properties["sent_at"] = {"type": "string", "format": "date-time"}
        message: dict[str, Any] = {
            "name": event_type.name,
            "summary": event_type.summary,
            "contentType": "application/json",
            "payload": obj(properties),
        }
        if not event_type.socket_frame and not event_type.resumable:
            message["x-resumable"] = False
            if event_type.resync_via:
                message["x-resync-via"] = event_type.resync_via
        if event_type.examples:
            message["examples"] = [{"payload": example} for example in event_type.examples]
        messages[event_type.name.replace(".", "_")] = message
    return {
        "asyncapi": "2.6.0",
        "info": {
            "title": "教育技术服务平台 realtime socket",
            "version": "1.0.0",
            "description": (
                "One websocket per client session. Sign in with the session cookie (browsers) or "
                "`?token=<API token>` (mobile clients). The server pushes typed frames; clients write "
                'through the REST API and send only `{"type": "ping"}` keep-alives and the frames listed '
                "under `publish` (chat messages and typing signals; a bad frame is answered with an "
                "`error` frame and the socket stays open). A socket whose "
                "session, token or account ends receives `session.ended` and is closed with code 4401; "
                "the client must not reconnect with the same credential (after `token_expired`: refresh "
                "the tokens at POST /api/v1/auth/token/refresh/, then reconnect with the new access token; "
                "a refresh keeps the device's open sockets). Mobile clients send the device's access token "
                "as `Authorization: Token <token>` (or `Bearer`) or `?token=`. An HTTP 403 during the "
                "handshake means a page of another origin. A refused socket closes with "
                "4401 too (accepted, then closed, so the code reaches the client). Events are sent after "
                "the change is committed. Every event carries `id`, the user's event id, strictly "
                "increasing per user: a client that reconnects with `/ws/?last_event_id=<the last id it "
                "saw>` first receives every event it missed, in order and once, then live events; `hello` "
                "says `resumed: true`. When the missed events cannot be replayed (kept 48 hours, at most "
                "5,000 per reconnect) the server sends `resync`: reload over REST (lists accept "
                "`updated_after`) and go on from its `last_event_id`. Without `last_event_id` the socket "
                "starts at the newest event (`hello.last_event_id`). A ping makes the server send any "
                "stored event the socket has not received yet. Events caused by a request are not sent "
                "to the socket opened with the same session or device token (the user's other devices "
                "get them). Types marked `x-resumable: false` are not stored; their `x-resync-via` "
                "names the REST list to read after a reconnect."
            ),
        },
        "servers": {"platform": {"url": server_url, "protocol": "wss"}},
        "channels": {
            "/ws/": {
                "subscribe": {
                    "summary": "Frames the server sends to the client.",
                    "message": {"oneOf": [{"$ref": f"#/components/messages/{key}"} for key in sorted(messages)]},
                },
                "publish": {
                    "summary": "Frames the client may send.",
                    "message": {"oneOf": _client_frames()},
                },
            }
        },
        "components": {"messages": messages},
    }


def _client_frames() -> list[dict[str, Any]]:
    from .socket_frames import client_frames

    frames = [
        {
            "name": "ping",
            "summary": "Keep-alive; the server answers pong after any stored event the socket has not yet received.",
            "payload": obj({"type": {"const": "ping"}}),
        }
    ]
    frames.extend({"name": frame.name, "summary": frame.summary, "payload": frame.schema} for frame in client_frames())
    return frames


# --- The socket's own frames -------------------------------------------------------------------------
register(
    EventType(
        "hello",
        "Sent once when the socket is accepted.",
        obj({"user_id": INTEGER, "last_event_id": INTEGER, "resumed": {"type": "boolean"}}),
        socket_frame=True,
    ),
    EventType(
        "pong",
        "The answer to a client's ping, after any stored event the socket had not yet received.",
        obj({"last_event_id": INTEGER}),
        socket_frame=True,
    ),
    EventType(
        "resync",
        "The events after the client's last_event_id cannot be replayed (pruned after the retention, too "
        "many, or an id this server never gave): reload state over REST (lists with updated_after), then "
        "go on from last_event_id.",
        obj({"reason": {"enum": ["expired", "too_many", "unknown_id"]}, "last_event_id": INTEGER}),
        socket_frame=True,
    ),
    EventType(
        "error",
        "A frame from the client was refused: invalid JSON (invalid_json), too large (frame_too_large), binary "
        "(bad_frame), of an unknown type (unknown_type; writes go through the REST API apart from the frames "
        "listed under publish), not matching its schema (invalid), or refused by its handler (its own code, e.g. "
        "rate_limited, blocked, not_found). `client_id` echoes the refused frame's. The socket stays open.",
        obj(
            {"detail": STRING, "code": STRING, "client_id": STRING},
            required=["detail"],
        ),
        socket_frame=True,
    ),
    EventType(
        "session.ended",
        "The session, token or account this socket was opened with has ended; the socket closes with 4401.",
        obj({"reason": {"enum": ["signed_out", "token_revoked", "deactivated", "token_expired"]}}),
        resumable=False,
    ),
)
