"""Process-level settings shared by the long-lived server processes (web workers, Celery workers)."""

import gc


def freeze_startup_objects() -> None:
    """Move what a process holds once started (Django, the apps, the URLconf and views, the tasks:
    ~300,000 objects) out of the cyclic garbage collector's reach. Otherwise every so often a request
    or task pays a full collection over all of them: ~100-130 ms, which was one SLA sweep in five and
    one ticket create in a couple of thousand (bench/README.md). They live as long as the process
    anyway; reference counting still frees everything a request or task creates, and the collector
    still finds its cycles."""
    gc.freeze()
