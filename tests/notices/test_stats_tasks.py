"""The statistics are recounted in the background: publishing and reading mark them stale, the task
recounts and clears the flag, beat's sweep catches what a lost queued run left."""

import pytest

from notices import services, tasks
from notices.models import Notice, NoticeUnitStat

pytestmark = pytest.mark.django_db


def _stale(notice) -> bool:
    return Notice.objects.values_list("stats_stale", flat=True).get(pk=notice.pk)


def test_publishing_and_reading_mark_the_statistics_stale_and_the_sweep_recounts(publish, people, tree, settings):
    assert "notices-recount-stale-stats" in settings.CELERY_BEAT_SCHEDULE
    notice = publish()
    assert _stale(notice)
    assert tasks.recount_stale_stats.apply().get() == 1
    assert not _stale(notice)
    school = NoticeUnitStat.objects.get(notice=notice, unit=tree.school_a)
    assert (school.audience, school.read) == (2, 0)
    services.notice_mark_read(user=people.teacher_a, notice=notice)
    services.notice_mark_read(user=people.student_a, notice=notice)
    assert _stale(notice)
    assert tasks.compute_notice_stats.apply(args=(notice.pk,)).get() > 0
    school = NoticeUnitStat.objects.get(notice=notice, unit=tree.school_a)  # the rows are rewritten
    assert (school.audience, school.read) == (2, 2)
    assert tasks.recount_stale_stats.apply().get() == 0


def test_a_draft_has_no_statistics(write):
    assert services.compute_notice_stats(write().pk) is None
