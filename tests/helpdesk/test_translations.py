"""The Simplified Chinese catalogue is complete, keeps every placeholder, and the compiled .mo that
Django loads says what the .po says; the portal's pages come out in Chinese."""

from __future__ import annotations

import gettext
import re
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from accounts.models import HandlingGroup
from tests.tickets.conftest import GROUPS, Staff

MESSAGES = Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES"
PO_PATH = MESSAGES / "django.po"
MO_PATH = MESSAGES / "django.mo"

# printf-style (%s, %d, %(name)s, %(minutes)02d, %%) and str.format-style ({id}) placeholders.
PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")
BRACES = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}|\{\d*\}")


@pytest.fixture(scope="module")
def catalogue() -> polib.POFile:
    return polib.pofile(str(PO_PATH))


def _entries(po: polib.POFile) -> list[polib.POEntry]:
    """Every message but the header and obsolete ones."""
    return [entry for entry in po if entry.msgid and not entry.obsolete]


def _label(entry: polib.POEntry) -> str:
    where = ", ".join(f"{path}:{line}" for path, line in entry.occurrences[:2])
    return f"{entry.msgid!r} ({where})"


def _placeholders(text: str) -> Counter:
    return Counter(PRINTF.findall(text)) + Counter(BRACES.findall(text))


def _translations(entry: polib.POEntry) -> list[tuple[str, str]]:
    """(source, translation) pairs: the one msgstr, or each plural form against the plural msgid."""
    if entry.msgid_plural:
        # zh has one form (nplurals=1) and it reads like the plural.
        return [(entry.msgid_plural, text) for _, text in sorted(entry.msgstr_plural.items())]
    return [(entry.msgid, entry.msgstr)]


# --- The .po -------------------------------------------------------------------------------------
def test_the_catalogue_is_simplified_chinese_with_one_plural_form(catalogue):
    assert catalogue.metadata["Language"] == "zh_Hans"
    assert catalogue.metadata["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"
    assert catalogue.metadata["Content-Type"] == "text/plain; charset=UTF-8"
    assert len(_entries(catalogue)) > 600


def test_every_message_is_translated(catalogue):
    empty = [
        _label(entry)
        for entry in _entries(catalogue)
        if not _translations(entry) or not all(text.strip() for _, text in _translations(entry))
    ]
    assert not empty, f"{len(empty)} untranslated messages:\n" + "\n".join(empty)


def test_no_message_is_fuzzy(catalogue):
    fuzzy = [_label(entry) for entry in _entries(catalogue) if "fuzzy" in entry.flags]
    assert not fuzzy, f"{len(fuzzy)} fuzzy messages (check the translation, then drop the flag):\n" + "\n".join(fuzzy)


def test_plural_messages_have_exactly_the_one_chinese_form(catalogue):
    plurals = [entry for entry in _entries(catalogue) if entry.msgid_plural]
    assert plurals
    for entry in plurals:
        assert set(entry.msgstr_plural) == {0}, _label(entry)


def test_translations_keep_the_placeholders(catalogue):
    wrong = []
    for entry in _entries(catalogue):
        for source, text in _translations(entry):
            if _placeholders(source) != _placeholders(text):
                wrong.append(f"{_label(entry)}: {sorted(_placeholders(source).elements())} -> {text!r}")
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_the_placeholder_pattern_finds_every_kind():
    assert _placeholders("%(days)d d %(hours)02d h, %s of %d, 100%% and {id}") == Counter(
        ["%(days)d", "%(hours)02d", "%s", "%d", "%%", "{id}"]
    )


# --- The .mo -------------------------------------------------------------------------------------
def test_the_compiled_catalogue_matches_the_po(catalogue, tmp_path):
    """A .mo compiled now from the .po holds exactly what the committed .mo holds: run
    ``manage.py compilemessages`` after editing the .po."""
    fresh = tmp_path / "django.mo"
    catalogue.save_as_mofile(str(fresh))
    with fresh.open("rb") as handle:
        compiled_now = gettext.GNUTranslations(handle)
    with MO_PATH.open("rb") as handle:
        committed_mo = gettext.GNUTranslations(handle)
    # The header is compared by the fields that matter, not by its layout or dates.
    for field in ("language", "plural-forms", "content-type"):
        assert committed_mo.info().get(field) == compiled_now.info().get(field), field
    expected = {key: text for key, text in compiled_now._catalog.items() if key != ""}
    committed = {key: text for key, text in committed_mo._catalog.items() if key != ""}
    missing = sorted(str(key) for key in expected.keys() - committed.keys())
    stale = sorted(str(key) for key in committed.keys() - expected.keys())
    changed = sorted(str(key) for key in expected.keys() & committed.keys() if expected[key] != committed[key])
    assert not (missing or stale or changed), (
        "django.mo is out of date; run manage.py compilemessages -l zh_Hans.\n"
        f"missing: {missing[:10]}\nnot in the .po: {stale[:10]}\nchanged: {changed[:10]}"
    )


def test_django_translates_every_message_as_the_catalogue_says(catalogue):
    """What Django serves for zh-hans (the project catalogue first, then Django's and the apps')."""
    wrong = []
    with translation.override("zh-hans"):
        for entry in _entries(catalogue):
            if entry.msgid_plural:
                served = (
                    translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, 2)
                    if entry.msgctxt
                    else translation.ngettext(entry.msgid, entry.msgid_plural, 2)
                )
                expected = entry.msgstr_plural[0]
            else:
                served = (
                    translation.pgettext(entry.msgctxt, entry.msgid)
                    if entry.msgctxt
                    else translation.gettext(entry.msgid)
                )
                expected = entry.msgstr
            if served != expected:
                wrong.append(f"{_label(entry)}: {served!r} != {expected!r}")
    assert not wrong, f"{len(wrong)} messages differ from the .po:\n" + "\n".join(wrong[:20])


# --- Pages ---------------------------------------------------------------------------------------
@pytest.fixture
def support_staff(tree):
    for code, name in GROUPS.items():
        HandlingGroup.objects.get_or_create(code=code, defaults={"name": name})
    return Staff(tree)


@pytest.fixture
def question(teacher, support_staff):
    from tickets import services

    return services.ticket_create(
        asker=teacher,
        title="投影仪无法开机",
        description="三年级二班的投影仪指示灯常亮，无法开机",
        type="hardware",
        priority="P2",
        contact_info="13800000000",
    )


@pytest.fixture(scope="module")
def english_phrases(catalogue) -> list[str]:
    """Source texts of two words or more without placeholders: none may show on a Chinese page."""
    return [
        entry.msgid
        for entry in _entries(catalogue)
        if " " in entry.msgid.strip()
        and not _placeholders(entry.msgid)
        and entry.msgstr
        and entry.msgstr != entry.msgid
    ]


def _page(client, user, url: str) -> str:
    client.force_login(user)
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "zh-hans"
    return response.content.decode()


def _assert_no_english(html: str, english_phrases: list[str]) -> None:
    leftovers = sorted(phrase for phrase in english_phrases if phrase in html)
    assert not leftovers, f"untranslated text on the page: {leftovers}"


@pytest.mark.django_db
def test_the_ticket_list_of_a_teacher_is_in_chinese(client, teacher, question, english_phrases):
    html = _page(client, teacher, reverse("tickets:index"))
    assert "问题咨询" in html
    assert "我的问题" in html
    assert "我要提问" in html
    assert "投影仪无法开机" in html
    assert "待处理" in html
    assert "My questions" not in html
    assert "Support requests" not in html
    _assert_no_english(html, english_phrases)


@pytest.mark.django_db
def test_the_agent_pages_are_in_chinese(client, support_staff, question, english_phrases):
    agent = support_staff.agent
    queue = _page(client, agent, reverse("tickets:index") + "?view=pool")
    assert "服务组待接收" in queue
    assert "我的待办" in queue
    assert "Unassigned in my pools" not in queue
    _assert_no_english(queue, english_phrases)

    detail = _page(client, agent, reverse("tickets:detail", args=[question.pk]))
    for text in ("确认接收", "服务时限", "首次响应", "处理记录", "服务组", "内部备注"):
        assert text in detail, text
    assert "Confirm receipt" not in detail
    _assert_no_english(detail, english_phrases)


@pytest.mark.django_db
def test_the_question_form_and_search_are_in_chinese(client, teacher, english_phrases):
    create = _page(client, teacher, reverse("tickets:create"))
    assert "提交问题" in create
    assert "问题描述" in create
    _assert_no_english(create, english_phrases)

    search = _page(client, teacher, reverse("tickets:search"))
    assert "答案查询" in search
    _assert_no_english(search, english_phrases)


@pytest.mark.django_db
def test_the_supervisor_pages_are_in_chinese(client, support_staff, english_phrases):
    supervisor = support_staff.supervisor
    follow_ups = _page(client, supervisor, reverse("tickets:follow_ups"))
    assert "回访" in follow_ups
    _assert_no_english(follow_ups, english_phrases)

    review = _page(client, supervisor, reverse("tickets:settings"))
    assert "审核设置" in review
    _assert_no_english(review, english_phrases)

    reports = _page(client, supervisor, reverse("tickets:reports"))
    assert "工单统计报表" in reports
    _assert_no_english(reports, english_phrases)
