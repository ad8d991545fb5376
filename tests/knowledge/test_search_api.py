"""Suggestions while a question is typed and 这解决了我的问题, over the API; search through the
articles list ranks paraphrases first."""

from __future__ import annotations

import pytest

from knowledge.models import SelfSolved

pytestmark = pytest.mark.django_db

SUGGEST = "/api/v1/knowledge/suggestions/"


def _solved(pk: int) -> str:
    return f"/api/v1/knowledge/articles/{pk}/solved/"


def test_suggestions_best_first_with_highlights(people, auth_client, publish):
    printer = publish(title="网络打印机无法连接的处理方法", problem="打印机显示脱机。", solution="设置固定 IP。")
    publish(title="打印机卡纸的处理", problem="打印机经常卡纸。", solution="清理搓纸轮。")
    response = auth_client(people.teacher).get(SUGGEST, {"q": "办公室打印机连不上网络，显示脱机"})
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0]["id"] == printer.pk
    assert results[0]["title_html"].startswith("<mark>网络打印机无法连接</mark>")
    assert set(results[0]) == {"id", "title", "score", "title_html", "snippet_html"}


def test_suggestion_input_is_checked(people, auth_client):
    client = auth_client(people.teacher)
    assert client.get(SUGGEST).status_code == 400
    assert "q" in client.get(SUGGEST, {"q": "长" * 2001}).json()["fields"]
    assert "limit" in client.get(SUGGEST, {"q": "投影", "limit": 0}).json()["fields"]
    assert client.get(SUGGEST, {"q": "投影", "color": "red"}).status_code == 400
    assert client.get(SUGGEST, {"q": "🙂🙂"}).json() == {"results": []}


def test_suggestions_need_a_signed_in_user(api_client):
    assert api_client.get(SUGGEST, {"q": "投影"}).status_code in (401, 403)


def test_solved_my_problem_over_the_api(people, auth_client, publish, tree):
    article = publish()
    client = auth_client(people.teacher)
    response = client.post(_solved(article.pk), {"question": "投影仪没有信号"}, format="json")
    assert response.status_code == 201
    assert response.json()["article"] == article.pk
    assert client.post(_solved(article.pk), {}, format="json").status_code == 201
    assert SelfSolved.objects.get().question == "投影仪没有信号"
    assert "question" in client.post(_solved(article.pk), {"question": "长" * 501}, format="json").json()["fields"]
    assert client.post(_solved(article.pk), {"colour": 1}, format="json").status_code == 400
    # An article the reader may not see, or none: 404 alike.
    assert auth_client(people.tianjin_teacher).post(_solved(article.pk), {}, format="json").status_code == 404
    assert client.post(_solved(999999), {}, format="json").status_code == 404
