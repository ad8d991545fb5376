"""Scheduled publishing: exactly once, whether beat's task runs twice, overlaps or dies half way."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from notices import selectors, services
from notices.models import Notice, NoticeEvent, NoticeTarget
from notices.services import workflow
from tests.concurrency import require_postgres, run_at_once

ROOT = Path(__file__).resolve().parents[2]


def _published_steps(notice) -> int:
    return NoticeEvent.objects.filter(notice=notice, action="published").count()


@pytest.mark.django_db
def test_an_approved_notice_waits_for_its_time_then_publishes_once(publish, people):
    when = timezone.now() + timedelta(hours=2)
    notice = publish(publish_at=when)
    assert notice.state == "scheduled"
    assert notice.pk not in set(selectors.inbox(user=people.teacher_a).values_list("pk", flat=True))
    assert services.publish_due(now=when - timedelta(minutes=1)) == 0
    assert services.publish_due(now=when + timedelta(seconds=1)) == 1
    assert services.publish_due(now=when + timedelta(minutes=1)) == 0
    notice.refresh_from_db()
    assert notice.state == "published" and notice.published_at == when + timedelta(seconds=1)
    assert _published_steps(notice) == 1
    steps = list(NoticeEvent.objects.filter(notice=notice).values_list("action", "actor_id"))
    assert steps[-3:] == [
        ("approved", people.bj_reviewer.pk),
        ("scheduled", people.bj_reviewer.pk),
        ("published", None),
    ]
    assert selectors.unread_count(user=people.teacher_a) == 1


@pytest.mark.django_db
def test_a_run_killed_half_way_leaves_it_scheduled_and_the_next_run_publishes_it_once(publish, monkeypatch):
    when = timezone.now() + timedelta(minutes=5)
    notices = [publish(title=f"定时通知{i}", publish_at=when) for i in range(3)]
    real = workflow._publish_locked
    calls = []

    def dies_on_the_second(notice, **kwargs):
        calls.append(notice.pk)
        real(notice, **kwargs)  # targets written, then the worker dies before commit
        if len(calls) == 2:
            raise SystemExit("worker killed")

    monkeypatch.setattr(workflow, "_publish_locked", dies_on_the_second)
    with pytest.raises(SystemExit):
        services.publish_due(now=when)
    monkeypatch.setattr(workflow, "_publish_locked", real)
    states = {n.pk: n.state for n in Notice.objects.filter(pk__in=[n.pk for n in notices])}
    assert sorted(states.values()) == ["published", "scheduled", "scheduled"]
    # The dead run's half-written audience was rolled back with it.
    assert NoticeTarget.objects.filter(notice_id=calls[1]).count() == 0
    assert services.publish_due(now=when) == 2
    assert services.publish_due(now=when) == 0
    for notice in notices:
        assert _published_steps(notice) == 1
        assert NoticeTarget.objects.filter(notice=notice).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_at_once_publish_each_notice_once(publish):
    require_postgres()
    when = timezone.now() + timedelta(minutes=5)
    notices = [publish(title=f"并发通知{i}", publish_at=when) for i in range(6)]
    counts = []
    errors = run_at_once([lambda: counts.append(services.publish_due(now=when)) for _ in range(3)])
    assert errors == []
    assert sum(counts) == 6
    for notice in notices:
        assert _published_steps(notice) == 1
        assert NoticeTarget.objects.filter(notice=notice).count() == 1


_CHILD = """
import time
import django
django.setup()
from notices.services import workflow

real = workflow._publish_locked


def hangs(notice, **kwargs):
    real(notice, **kwargs)
    print("PUBLISHING", notice.pk, flush=True)
    time.sleep(120)


workflow._publish_locked = hangs
workflow.publish_due()
"""


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_process_killed_mid_task_publishes_nothing_and_the_next_run_publishes_once(publish):
    """A real worker process, killed (SIGKILL) while it holds the notice: the database rolls its work
    back; another run meanwhile skips the locked notice; the next run publishes it exactly once."""
    require_postgres()
    notice = publish(publish_at=timezone.now() + timedelta(seconds=2))
    time.sleep(2.1)
    db = connection.settings_dict
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    url = f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{host}/{db['NAME']}"
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="helpdesk.settings.base")
    child = subprocess.Popen([sys.executable, "-c", _CHILD], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.startswith("PUBLISHING"), line
        # The worker holds the row: another run skips it rather than waiting or publishing it twice.
        assert services.publish_due() == 0
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    notice.refresh_from_db()
    assert notice.state == "scheduled" and NoticeTarget.objects.filter(notice=notice).count() == 0
    deadline = time.monotonic() + 10
    published = 0
    while not published and time.monotonic() < deadline:
        published = services.publish_due()
        if not published:
            time.sleep(0.1)  # the server notices the dead connection and releases the lock
    assert published == 1
    assert services.publish_due() == 0
    notice.refresh_from_db()
    assert notice.state == "published"
    assert _published_steps(notice) == 1 and NoticeTarget.objects.filter(notice=notice).count() == 1


@pytest.mark.django_db
def test_a_scheduled_notice_withdrawn_before_its_time_never_goes_out(publish, people):
    when = timezone.now() + timedelta(hours=1)
    notice = publish(publish_at=when)
    services.notice_withdraw(user=people.bj_publisher, notice=notice, reason="时间有变")
    assert services.publish_due(now=when + timedelta(minutes=1)) == 0
    notice.refresh_from_db()
    assert notice.state == "rejected" and notice.published_at is None
    assert selectors.unread_count(user=people.teacher_a) == 0


@pytest.mark.django_db
def test_the_celery_task_runs_the_sweep(publish, settings):
    from notices import tasks

    notice = publish(publish_at=timezone.now() + timedelta(seconds=1))
    Notice.objects.filter(pk=notice.pk).update(publish_at=timezone.now() - timedelta(seconds=1))
    assert tasks.publish_due.apply().get() == 1
    assert tasks.publish_due.apply().get() == 0
    assert "notices-publish-due" in settings.CELERY_BEAT_SCHEDULE
