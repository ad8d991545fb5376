"""Helpers for tests that race real database connections (PostgreSQL row locks)."""

import threading

import pytest
from django.db import connection


def run_at_once(jobs) -> list[BaseException]:
    """Run each job in its own thread (so its own database connection), all released together."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job):
        try:
            barrier.wait(timeout=10)
            job()
        except BaseException as exc:  # reported to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a writer hung (deadlock?)"
    return errors


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL row locks (SQLite serialises whole-database writes); "
            "run with DATABASE_URL=postgres://… as CI does"
        )
