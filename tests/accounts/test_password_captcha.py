"""The portal's password change asks for a 验证码 (manual 2.2.2), checked for real here (no test
mode); the API's password change has none (token sign-in and the lockout protect it)."""

from __future__ import annotations

import re

from captcha.models import CaptchaStore
from django.urls import reverse

PASSWORD_PAGE = reverse("accounts:password_change")
NEW_PASSWORD = "Fresh-Password-2024"


def _key(page: str) -> str:
    return re.search(r'name="captcha_0" value="([0-9a-f]+)"', page).group(1)


def _post(client, password, key, answer):
    return client.post(
        PASSWORD_PAGE,
        {
            "old_password": password,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD,
            "captcha_0": key,
            "captcha_1": answer,
        },
    )


def test_the_page_shows_the_captcha_image_and_refresh_in_chinese(client, teacher):
    client.force_login(teacher)
    page = client.get(PASSWORD_PAGE).content.decode()
    key = _key(page)
    assert f'src="/captcha/image/{key}/"' in page
    assert "验证码" in page and "换一张" in page and 'alt="验证码图片"' in page
    # The refresh is a static script loaded with the page's nonce: no inline script.
    assert re.search(r'<script src="/static/js/captcha\.js" nonce="[^"]+"', page)
    assert "<script>" not in page
    image = client.get(f"/captcha/image/{key}/")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"


def test_a_right_answer_changes_the_password(client, teacher, password):
    client.force_login(teacher)
    key = _key(client.get(PASSWORD_PAGE).content.decode())
    answer = CaptchaStore.objects.get(hashkey=key).response
    response = _post(client, password, key, answer.upper())
    assert response.status_code == 302
    teacher.refresh_from_db()
    assert teacher.check_password(NEW_PASSWORD)


def test_a_wrong_or_missing_answer_is_a_form_error_and_nothing_changes(client, teacher, password):
    client.force_login(teacher)
    key = _key(client.get(PASSWORD_PAGE).content.decode())
    response = _post(client, password, key, "wrong")
    assert response.status_code == 200
    assert "验证码不正确" in response.content.decode()
    # One try per code: the right answer no longer works with the same key.
    assert not CaptchaStore.objects.filter(hashkey=key).exists()
    response = _post(client, password, "", "")
    assert response.status_code == 200
    assert 'id="id_captcha_errors"' in response.content.decode() or "errorlist" in response.content.decode()
    teacher.refresh_from_db()
    assert teacher.check_password(password)


def test_the_refresh_endpoint_hands_out_a_new_code(client, teacher):
    client.force_login(teacher)
    response = client.get(reverse("captcha-refresh"), HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 200
    data = response.json()
    assert CaptchaStore.objects.filter(hashkey=data["key"]).exists()
    assert data["image_url"] == f"/captcha/image/{data['key']}/"
    assert "Content-Security-Policy" in response


def test_the_api_password_change_needs_no_captcha(auth_client, teacher, password):
    response = auth_client(teacher).post(
        "/api/v1/me/password/",
        {"old_password": password, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 200, response.content
