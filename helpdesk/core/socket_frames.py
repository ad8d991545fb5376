"""What a client may send on ``/ws/`` besides ``ping``, and hooks into a socket's life.

helpdesk.core imports no app, so an app that takes frames over the socket (chat's ``chat.send``)
or follows sockets coming and going (chat's presence) registers here from its ``AppConfig.ready``;
the consumer (``helpdesk.core.consumers``) looks frames up by their ``type`` and runs the hooks.

A handler gets the socket (``Socket``) and the frame, already checked against its JSON Schema, and
returns the frame to answer with (an acknowledgement) or None; it raises ``FrameError`` for an
error frame. A handler's own failure is an error frame too: the socket stays open either way.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import fastjsonschema

logger = logging.getLogger(__name__)

# The largest text frame the socket reads (characters). A chat message's text is far smaller; a
# bigger frame is refused with ``frame_too_large`` without being parsed.
MAX_FRAME_CHARS = 32 * 1024


class FrameError(Exception):
    """Answered with ``{"type": "error", "payload": {"detail", "code", **extra}}``; ``extra`` carries
    what lets the client match the error to what it sent (``client_id``)."""

    def __init__(self, detail: str, *, code: str = "invalid", **extra: Any) -> None:
        super().__init__(detail)
        self.detail = str(detail)
        self.code = code
        self.extra = extra

    def frame(self) -> dict[str, Any]:
        return {"type": "error", "payload": {"detail": self.detail, "code": self.code, **self.extra}}


@dataclass(frozen=True)
class Socket:
    """What a handler or hook knows of the socket: whose it is, its channel, and the credential
    group events caused through it carry as their origin (no echo to this device)."""

    user_id: int
    channel_name: str
    origin: str


Handler = Callable[[Socket, dict[str, Any]], Awaitable[dict[str, Any] | None]]
Hook = Callable[[Socket], Awaitable[None]]


@dataclass(frozen=True)
class ClientFrame:
    """One frame type a client may send: ``schema`` is the JSON Schema of the whole frame (its
    ``type`` included), published in the AsyncAPI description."""

    name: str
    summary: str
    schema: dict[str, Any]
    handler: Handler = field(compare=False)


_FRAMES: dict[str, ClientFrame] = {}
_HOOKS: dict[str, list[Hook]] = {"connect": [], "disconnect": [], "ping": []}
_CHECKS: dict[str, Callable[[Any], Any]] = {}
_VALIDATORS: dict[str, Any] = {}


def register_frame(client_frame: ClientFrame) -> None:
    if client_frame.name in ("ping",) or (client_frame.name in _FRAMES and _FRAMES[client_frame.name] != client_frame):
        raise ValueError(f"client frame {client_frame.name!r} is declared twice")
    _FRAMES[client_frame.name] = client_frame


def register_hook(moment: str, hook: Hook) -> None:
    """``moment``: "connect" (the socket was accepted), "disconnect", or "ping" (a keep-alive)."""
    if hook not in _HOOKS[moment]:
        _HOOKS[moment].append(hook)


def client_frames() -> list[ClientFrame]:
    return [_FRAMES[name] for name in sorted(_FRAMES)]


def get(name: str) -> ClientFrame | None:
    return _FRAMES.get(name)


def schema_errors(client_frame: ClientFrame, content: dict[str, Any]) -> str:
    """The frame's schema errors as one message ("" when valid).

    Every frame a client sends is checked, so the check is compiled to Python once per frame type
    (fastjsonschema: ~1 µs a chat.send, where jsonschema's walk took ~27 µs and ~6 % of daphne's CPU
    per message under load); only a frame that fails is walked by jsonschema, for messages naming
    every problem."""
    check = _CHECKS.get(client_frame.name)
    if check is None:
        check = _CHECKS[client_frame.name] = fastjsonschema.compile(client_frame.schema)
    try:
        check(content)
        return ""
    except fastjsonschema.JsonSchemaValueException:
        pass
    validator = _VALIDATORS.get(client_frame.name)
    if validator is None:
        from jsonschema import Draft202012Validator

        validator = _VALIDATORS[client_frame.name] = Draft202012Validator(client_frame.schema)
    errors = sorted(validator.iter_errors(content), key=lambda error: list(error.path))
    return "; ".join(f"{'/'.join(map(str, error.path)) or '(frame)'}: {error.message}" for error in errors[:5])


async def run_hooks(moment: str, socket: Socket) -> None:
    # A hook's failure (Redis down for presence) must not cost the socket its events.
    for hook in _HOOKS[moment]:
        try:
            await hook(socket)
        except Exception:
            logger.exception("socket %s hook %r failed", moment, hook)
