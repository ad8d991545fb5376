import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts import services

pytestmark = pytest.mark.django_db


def _avatar():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "blue").save(buffer, format="PNG")
    return SimpleUploadedFile("me.png", buffer.getvalue(), content_type="image/png")


def test_avatar_served_to_signed_in_users_only(client, teacher, tianjin_teacher, settings):
    settings.DEBUG = False
    services.profile_update(user=teacher, data={"avatar": _avatar()})
    url = teacher.avatar.url
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(tianjin_teacher)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    # A path that climbs out of the media root is refused, never served.
    assert client.get("/media/avatars/../../helpdesk.sqlite3").status_code in (400, 404)
