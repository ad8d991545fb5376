import gc
import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings.base")

app = Celery("helpdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def freeze_startup_objects(**_kwargs) -> None:
    """Move what a worker process holds once started (Django, the apps, the tasks: ~300,000 objects)
    out of the cyclic garbage collector's reach. Otherwise every so often a task that allocates a lot,
    such as the SLA sweep, pays a full collection over all of them: ~100 ms of a 300 ms sweep, one run
    in five (bench/README.md). They live as long as the process anyway; reference counting still
    frees everything a task creates."""
    gc.freeze()


# Prefork pool children are forked from the main worker process after it loaded everything.
worker_process_init.connect(freeze_startup_objects, weak=False)
