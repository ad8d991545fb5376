import pytest
from rest_framework.test import APIClient

from tests.backends import redis_url
from tests.factories import DEFAULT_PASSWORD, Tree, UserFactory, grant


@pytest.fixture(autouse=True)
def _fresh_sla_config():
    # Rolled-back test transactions send no signals, so the snapshot could outlive the rows it read.
    from tickets import config_cache

    config_cache.clear()
    yield
    config_cache.clear()


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Every realtime event a test causes is checked against its declared schema.
    settings.HELPDESK_VALIDATE_EVENTS = True
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    # A fast hasher for the passwords tests create; PBKDF2 stays to check the factories' hash.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    if redis_url() is None:
        # Without REDIS_URL the settings' cache is a file cache under var/, which a dev server and
        # every other test session on the machine share; a test's cache stays in this process.
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}


@pytest.fixture
def tree(db) -> Tree:
    return Tree()


@pytest.fixture
def password() -> str:
    return DEFAULT_PASSWORD


@pytest.fixture
def haidian_admin(tree):
    """Administrator of 海淀区: manages 海淀区 and its schools, nothing in 天津市."""
    user = UserFactory(username="hd_admin", name="海淀管理员", unit=tree.haidian, user_type="staff")
    grant(user, tree.haidian)
    return user


@pytest.fixture
def teacher(tree):
    return UserFactory(username="teacher_zw", name="张伟", unit=tree.school_a)


@pytest.fixture
def tianjin_teacher(tree):
    return UserFactory(username="tj_teacher", name="王芳", unit=tree.school_tj)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def auth_client(api_client):
    """Returns a function that logs an APIClient in as a user (session-less, forced auth)."""

    def _login(user) -> APIClient:
        api_client.force_authenticate(user=user)
        return api_client

    return _login


@pytest.fixture
def captcha_test_mode(monkeypatch):
    """django-simple-captcha's test mode: the answer "PASSED" is accepted for any key.

    The library reads the setting once at import, so the module value is what must change (the
    live server of the browser tests runs in this process and sees it too).
    """
    from captcha.conf import settings as captcha_settings

    monkeypatch.setattr(captcha_settings, "CAPTCHA_TEST_MODE", True)
