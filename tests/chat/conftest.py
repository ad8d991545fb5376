"""Fixtures of the chat tests: two colleagues of different units, an outsider, their API clients."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.backends import redis_url
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _generous_rate(settings):
    """Tests send faster than people; the rate limit's own tests set it low again. (Its counter is
    keyed by user id and second, and SQLite hands a rolled-back test's ids out again.)"""
    settings.CHAT_MESSAGES_PER_SECOND = 1000


@pytest.fixture(autouse=True)
def _fresh_presence():
    """Presence lives in Redis (db of this test session) or in this process: start each test empty."""
    from chat import presence

    with presence._local_lock:
        presence._local.clear()
    url = redis_url()
    if url:
        import redis

        client = redis.from_url(url)
        keys = list(client.scan_iter(f"{presence.PREFIX}*"))
        if keys:
            client.delete(*keys)
        client.close()
    yield


@pytest.fixture
def zhang(tree):
    return UserFactory(username="zhang_wei", name="张伟", unit=tree.school_a)


@pytest.fixture
def li(tree):
    return UserFactory(username="li_na", name="李娜", unit=tree.school_tj)


@pytest.fixture
def outsider(tree):
    return UserFactory(username="wang_fang", name="王芳", unit=tree.school_b)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client
