import os

from celery import Celery
from celery.signals import worker_process_init

from helpdesk.runtime import freeze_startup_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect(weak=False)
def _freeze_worker_process(**_kwargs) -> None:
    # Prefork pool children are forked from the main worker process once it has loaded everything.
    freeze_startup_objects()
