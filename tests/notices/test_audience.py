"""Who a notice reaches: resolved at read time from the reader's units, levels and roles."""

import pytest

from accounts.models import Role
from notices import selectors, services
from notices.audience import positions_of, target_covers
from notices.models import NoticeRead, NoticeTarget, NoticeUnitStat
from orgtree.models import OrgLevel
from tests.factories import UserFactory, grant, make_unit

pytestmark = pytest.mark.django_db


def _inbox(user) -> set[int]:
    user.__dict__.pop("_scope", None)
    return set(selectors.inbox(user=user).values_list("pk", flat=True))


def _everyone(people):
    return [
        people.bj_publisher,
        people.bj_reviewer,
        people.hd_publisher,
        people.hd_reviewer,
        people.hd_admin,
        people.tj_reviewer,
        people.teacher_a,
        people.student_a,
        people.teacher_b,
        people.tj_teacher,
    ]


def _reached(notice, people) -> set[str]:
    return {user.username for user in _everyone(people) if notice.pk in _inbox(user)}


def test_own_unit_reaches_only_the_unit(publish, people):
    notice = publish(audience_mode="unit")
    assert _reached(notice, people) == {"n_bj_pub", "n_bj_rev"}


def test_whole_subtree_reaches_everyone_below_and_nothing_beside(publish, people):
    notice = publish(audience_mode="subtree")
    assert _reached(notice, people) == {
        "n_bj_pub",
        "n_bj_rev",
        "n_hd_pub",
        "n_hd_rev",
        "n_hd_admin",
        "n_teacher_a",
        "n_student_a",
        "n_teacher_b",
    }


def test_level_filter_reaches_only_units_of_those_levels(publish, people):
    schools = publish(audience_mode="levels", audience_levels=[OrgLevel.SCHOOL])
    assert _reached(schools, people) == {"n_teacher_a", "n_student_a", "n_teacher_b"}
    counties = publish(audience_mode="levels", audience_levels=[OrgLevel.COUNTY])
    assert _reached(counties, people) == {"n_hd_pub", "n_hd_rev", "n_hd_admin"}


def test_role_filter_reaches_only_those_roles_and_user_types(publish, people):
    teachers = publish(audience_mode="subtree", audience_kinds=["teacher"])
    assert _reached(teachers, people) == {"n_teacher_a", "n_teacher_b"}
    admins = publish(audience_mode="subtree", audience_kinds=["unit_admin", "notice_reviewer"])
    assert _reached(admins, people) == {"n_hd_admin", "n_hd_rev", "n_bj_rev"}


def test_role_and_level_filters_combine(publish, people):
    notice = publish(audience_mode="levels", audience_levels=[OrgLevel.SCHOOL], audience_kinds=["student"])
    assert _reached(notice, people) == {"n_student_a"}


def test_chosen_units_alone_or_with_their_subtrees(publish, people, tree):
    alone = publish(audience_mode="units", audience_units=[tree.school_b, tree.haidian])
    assert _reached(alone, people) == {"n_teacher_b", "n_hd_pub", "n_hd_rev", "n_hd_admin"}
    below = publish(audience_mode="units", audience_units=[tree.haidian], chosen_with_subtrees=True)
    assert _reached(below, people) == {
        "n_hd_pub",
        "n_hd_rev",
        "n_hd_admin",
        "n_teacher_a",
        "n_student_a",
        "n_teacher_b",
    }


def test_users_created_or_moved_after_publishing_see_what_their_new_place_covers(publish, people, tree):
    haidian_only = publish(audience_mode="units", audience_units=[tree.haidian], chosen_with_subtrees=True)
    newcomer = UserFactory(username="n_new", unit=tree.school_a)
    assert haidian_only.pk in _inbox(newcomer)
    # A new school created under 海淀区 after publication is in the subtree too.
    new_school = make_unit(tree.haidian, "海淀新校", "S110108009", OrgLevel.SCHOOL)
    late = UserFactory(username="n_late", unit=new_school)
    assert haidian_only.pk in _inbox(late)
    # A teacher who moves to 天津 no longer sees it; one who moves in does.
    people.teacher_a.unit = tree.school_tj
    people.teacher_a.save(update_fields=["unit"])
    assert haidian_only.pk not in _inbox(people.teacher_a)
    people.tj_teacher.unit = tree.school_b
    people.tj_teacher.save(update_fields=["unit"])
    assert haidian_only.pk in _inbox(people.tj_teacher)
    # A role granted after publication reaches its holder through the role's unit.
    grant(people.tj_reviewer, tree.haidian, Role.NOTICE_PUBLISHER)
    assert haidian_only.pk in _inbox(people.tj_reviewer)


def test_publishing_writes_no_row_per_recipient(publish, people):
    notice = publish(audience_mode="subtree")
    assert NoticeTarget.objects.filter(notice=notice).count() == 1
    assert NoticeRead.objects.count() == 0


def test_withdrawn_and_unpublished_notices(write, publish, people):
    draft = write(title="草稿")
    pending = services.notice_submit(user=people.bj_publisher, notice=write(title="待审核"))
    withdrawn = services.notice_withdraw(user=people.bj_publisher, notice=publish(title="撤回"))
    inbox = _inbox(people.teacher_a)
    assert draft.pk not in inbox and pending.pk not in inbox
    assert withdrawn.pk in inbox
    assert selectors.unread_count(user=people.teacher_a) == 0
    # The draft is its author's alone; a pending notice is visible to the unit's superiors, not readers.
    assert selectors.visible_notices(user=people.teacher_a).filter(pk__in=[draft.pk, pending.pk]).count() == 0


def test_expired_notices_leave_the_unread_count(publish, people):
    from datetime import timedelta

    from django.utils import timezone

    notice = publish(valid_until=timezone.now() + timedelta(days=1))
    assert selectors.unread_count(user=people.teacher_a) == 1
    later = timezone.now() + timedelta(days=2)
    assert selectors.unread_count(user=people.teacher_a, now=later) == 0
    assert notice.pk in _inbox(people.teacher_a)


def test_statistics_sql_agrees_with_the_inbox_rule(publish, people, tree):
    """The SQL of the statistics and the Django filter of the inbox are one rule written twice."""
    cases = [
        {"audience_mode": "subtree"},
        {"audience_mode": "levels", "audience_levels": [OrgLevel.SCHOOL]},
        {"audience_mode": "subtree", "audience_kinds": ["teacher", "notice_reviewer"]},
        {"audience_mode": "units", "audience_units": [tree.school_b, tree.haidian]},
        {"audience_mode": "unit"},
    ]
    for fields in cases:
        notice = publish(**fields)
        services.compute_notice_stats(notice.pk)
        root = NoticeUnitStat.objects.get(notice=notice, unit=tree.beijing)
        reached = _reached(notice, people)
        assert root.audience == len(reached), fields
        for user in _everyone(people):
            positions = positions_of(user)
            in_python = any(target_covers(t, p) for t in selectors.target_specs(notice) for p in positions)
            assert in_python == (user.username in reached), (fields, user.username)


def test_statistics_count_reads_and_confirmations_per_unit_and_roll_up(publish, people, tree):
    notice = publish(receipt_required=True, audience_mode="levels", audience_levels=[OrgLevel.SCHOOL])
    services.notice_mark_read(user=people.teacher_a, notice=notice)
    services.notice_mark_read(user=people.teacher_b, notice=notice, confirm=True)
    services.compute_notice_stats(notice.pk)
    rows = {
        row.unit_id: (row.audience, row.read, row.confirmed) for row in NoticeUnitStat.objects.filter(notice=notice)
    }
    assert rows == {
        tree.beijing.pk: (3, 2, 1),
        tree.haidian.pk: (3, 2, 1),
        tree.school_a.pk: (2, 1, 0),
        tree.school_b.pk: (1, 1, 1),
    }
    # Running it again gives the same rows (idempotent).
    services.compute_notice_stats(notice.pk)
    again = {
        row.unit_id: (row.audience, row.read, row.confirmed) for row in NoticeUnitStat.objects.filter(notice=notice)
    }
    assert again == rows


def test_reading_is_for_recipients_only_and_once(publish, people):
    from django.core.exceptions import ValidationError

    notice = publish(audience_mode="levels", audience_levels=[OrgLevel.SCHOOL])
    with pytest.raises(ValidationError):
        services.notice_mark_read(user=people.tj_teacher, notice=notice)
    first = services.notice_mark_read(user=people.teacher_a, notice=notice)
    second = services.notice_mark_read(user=people.teacher_a, notice=notice)
    assert first.pk == second.pk and first.read_at == second.read_at
    with pytest.raises(ValidationError):
        services.notice_mark_read(user=people.teacher_a, notice=notice, confirm=True)  # no receipt asked


def test_the_cached_unread_count_follows_publishing_reading_withdrawing_and_moving(
    publish, people, tree, django_capture_on_commit_callbacks, django_assert_num_queries
):
    teacher = people.teacher_a
    first = publish(title="一")
    assert selectors.unread_count(user=teacher) == 1
    teacher.unit  # noqa: B018 - loaded once, as a request's user is
    with django_assert_num_queries(0):
        assert selectors.unread_count(user=teacher) == 1  # from the cache
    with django_capture_on_commit_callbacks(execute=True):
        second = publish(title="二")
    assert selectors.unread_count(user=teacher) == 2
    with django_capture_on_commit_callbacks(execute=True):
        services.notice_mark_read(user=teacher, notice=first)
    assert selectors.unread_count(user=teacher) == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.notice_withdraw(user=people.bj_publisher, notice=second)
    assert selectors.unread_count(user=teacher) == 0
    with django_capture_on_commit_callbacks(execute=True):
        publish(title="三", audience_mode="units", audience_units=[tree.school_b])
    assert selectors.unread_count(user=teacher) == 0
    teacher.unit = tree.school_b
    teacher.save(update_fields=["unit"])
    assert selectors.unread_count(user=teacher) == 1


def test_the_unread_count_is_counted_when_the_cache_is_down(publish, people, settings, caplog):
    publish()
    # A cache server nobody listens on: every cache call fails (Django drops its cache handlers when
    # CACHES changes).
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    assert selectors.unread_count(user=people.teacher_a) == 1
    assert "cache unavailable" in caplog.text
