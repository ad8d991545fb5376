"""The inbox's unread count, kept in the cache until something it depends on changes.

Counting reads every published notice that reaches the user (an index range per unit above it) and
its own read rows: a few milliseconds, growing with the notices that reach it. The badge is asked for
on every page, so the answer is cached per user with a *signature* of what it was computed from:

- the user's positions (its units, levels, kinds: a move or a new role changes them);
- a version token per unit path above each of those units, replaced when a notice addressed to that
  path is published or withdrawn (``bump_paths``, after commit);
- a version token of the user, replaced when it reads or confirms (``bump_user``).

A cached count is used only when every token is present and the signature matches, and only until
the earliest end of validity among the notices it counted (an expired notice leaves the count). A
token the cache lost (evicted, restarted) is never taken as "unchanged": the count is recomputed and
a fresh token stored. Entries live ``TTL`` at most, which bounds any race between a count computed
from a transaction's old state and the bump after it.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime

from django.core.cache import cache
from django.db import transaction

from helpdesk.core.paths import ancestor_paths
from orgtree.models import OrgUnit

from .audience import Position

logger = logging.getLogger(__name__)

TTL = 300  # seconds
_PREFIX = "notices:unread:"


def _path_key(path: str) -> str:
    return f"{_PREFIX}p:{path}"


def _user_key(user_id: int) -> str:
    return f"{_PREFIX}u:{user_id}"


def _entry_key(user_id: int) -> str:
    return f"{_PREFIX}c:{user_id}"


def _new_token() -> str:
    return uuid.uuid4().hex[:16]


def _quietly(write, *args, **kwargs) -> None:
    # A bump the cache missed while down: the entries it would have invalidated live ``TTL`` at most,
    # and were written to the same unavailable cache anyway.
    try:
        write(*args, **kwargs)
    except Exception:
        logger.warning("unread count: could not bump a version in the cache", exc_info=True)


def bump_paths(paths: Iterable[str]) -> None:
    """Notices addressed to ``paths`` changed (published, withdrawn): counts of users below them are
    stale. Done now and again after commit (a count computed meanwhile read the old state)."""
    keys = [_path_key(path) for path in dict.fromkeys(paths)]
    if not keys:
        return

    def bump() -> None:
        _quietly(cache.set_many, {key: _new_token() for key in keys}, timeout=None)

    bump()
    transaction.on_commit(bump)


def bump_user(user_id: int) -> None:
    """The user read or confirmed something: its count is stale (now, and again after commit)."""

    def bump() -> None:
        _quietly(cache.set, _user_key(user_id), _new_token(), timeout=None)

    bump()
    transaction.on_commit(bump)


def cached_count(
    *,
    user_id: int,
    joined: datetime | None,
    positions: tuple[Position, ...],
    now: datetime,
    compute: Callable[[], tuple[int, datetime | None]],
) -> int:
    """The cached count if still good, else ``compute()`` (count, earliest end of validity of the
    notices counted) stored under the current signature. ``joined`` (the account's creation time)
    is part of it, so an id given again to another account (a restored database) finds nothing."""
    path_keys = sorted({_path_key(p) for pos in positions for p in ancestor_paths(pos.path, OrgUnit.steplen)})
    token_keys = [*path_keys, _user_key(user_id)]
    try:
        found = cache.get_many([*token_keys, _entry_key(user_id)])
    except Exception:  # the cache is down: count, as without it
        logger.warning("unread count: cache unavailable, counting", exc_info=True)
        return compute()[0]
    tokens = [found.get(key) for key in token_keys]
    signature = None
    if all(tokens):
        signature = hashlib.sha256(repr((joined, positions, tokens)).encode()).hexdigest()[:32]
        entry = found.get(_entry_key(user_id))
        if entry and entry[0] == signature and (entry[2] is None or now < entry[2]):
            return entry[1]
    else:
        # A token the cache does not hold: make one, so the next count can be cached.
        missing = {key: _new_token() for key, token in zip(token_keys, tokens, strict=True) if not token}
        try:
            cache.set_many(missing, timeout=None)
            fresh = cache.get_many(token_keys)
        except Exception:
            logger.warning("unread count: cache unavailable, counting", exc_info=True)
            fresh = {}
        tokens = [fresh.get(key) for key in token_keys]
        if all(tokens):
            signature = hashlib.sha256(repr((joined, positions, tokens)).encode()).hexdigest()[:32]
    count, expires = compute()
    if signature is not None:
        _quietly(cache.set, _entry_key(user_id), (signature, count, expires), timeout=TTL)
    return count
