"""Extra socket groups an app adds to every connection, for events sent to an audience rather than to
a list of users.

An event for a very large audience (a national notice: millions of people) cannot be stored and sent
per user. Instead an app registers a *subscriber* here from its ``AppConfig.ready``:

- ``groups(user)`` (sync, runs in a database thread once per connection): the channel groups this
  socket joins, and a context kept on the socket (what the filter needs to know about the user);
- ``accepts(context, payload)`` (optional, pure, no I/O): whether a frame sent to one of those groups
  is for this user.

Services send such frames with ``helpdesk.core.events.send_group_event``: one ``group_send`` per
group, so the cost grows with the sockets connected, never with the audience. The frames are not
stored (their event types are declared ``resumable=False`` with ``resync_via``): a client that was
offline catches up through the app's REST list.

The core knows no app: it only calls what was registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Membership:
    """What one subscriber gave one socket: the groups it joins, and the filter's context."""

    groups: tuple[str, ...]
    context: Any = None


@dataclass(frozen=True)
class Subscriber:
    name: str
    groups: Callable[[Any], Membership]
    accepts: Callable[[Any, dict], bool] | None = None


_SUBSCRIBERS: dict[str, Subscriber] = {}


def register(name: str, *, groups: Callable[[Any], Membership], accepts: Callable[[Any, dict], bool] | None = None):
    """Declare a subscriber (once, from an app's ``ready``). Registering a name again replaces it."""
    _SUBSCRIBERS[name] = Subscriber(name=name, groups=groups, accepts=accepts)


def subscribers() -> list[Subscriber]:
    return [_SUBSCRIBERS[name] for name in sorted(_SUBSCRIBERS)]


def get(name: str) -> Subscriber | None:
    return _SUBSCRIBERS.get(name)


def memberships(user) -> dict[str, Membership]:
    """Every subscriber's membership for ``user`` (sync: call it from a database thread)."""
    return {subscriber.name: subscriber.groups(user) for subscriber in subscribers()}


def all_groups(found: dict[str, Membership]) -> Iterable[str]:
    seen: dict[str, None] = {}
    for membership in found.values():
        for group in membership.groups:
            seen.setdefault(group, None)
    return list(seen)


def accepted(name: str, found: dict[str, Membership], payload: dict) -> bool:
    """Whether a frame sent for subscriber ``name`` is for the socket with memberships ``found``."""
    membership = found.get(name)
    subscriber = _SUBSCRIBERS.get(name)
    if membership is None or subscriber is None:
        return False
    if subscriber.accepts is None:
        return True
    try:
        return bool(subscriber.accepts(membership.context, payload))
    except Exception:  # a filter's bug must not close the socket; the frame is simply not sent
        return False
