import pytest


@pytest.fixture
def captcha_test_mode(monkeypatch):
    """django-simple-captcha's test mode: the answer "PASSED" is accepted for any key.

    The library reads the setting once at import, so the module value is what must change.
    """
    from captcha.conf import settings as captcha_settings

    monkeypatch.setattr(captcha_settings, "CAPTCHA_TEST_MODE", True)
