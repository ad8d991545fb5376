"""``manage.py run_platform``: the whole platform from one command, stopped by Ctrl-C.

Prepares the database (migrate, load_divisions, seed_demo), then runs three processes and forwards
their output with a prefix:

- ``web``: ``manage.py serve_ws``, daphne serving ``helpdesk.asgi:application`` (HTTP and the /ws/
  websocket): one daphne per core sharing the port with the Redis channel layer, one without it;
- ``worker``: a Celery worker;
- ``beat``: exactly one Celery beat, in its own process. ``worker -B`` would embed beat in the
  worker, which Celery advises against outside development and which would start a second beat as
  soon as anyone runs a second worker; a separate process is also what docker-compose runs.

Ctrl-C (SIGINT) or SIGTERM stops all three; if any of them dies, the others are stopped and the
command exits with an error, so a half-running platform is never left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from helpdesk.management.commands.seed_demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from helpdesk.management.commands.serve_ws import DAPHNE_ENV, DAPHNE_OPTIONS, processes_to_run

# A Celery worker's warm shutdown takes several seconds on a busy machine.
STOP_TIMEOUT = 20.0
# How long the start-up check waits for PostgreSQL to answer. A missing database is refused at once;
# without this check the connection pool retried for DATABASE_POOL_TIMEOUT (10 s) and migrate died
# with a 110-line traceback that never said the database had to be created.
DATABASE_CHECK_TIMEOUT = 3


# daphne's options and environment live with the command that starts it; importable from here too
# (the chat bench and the tests' daphne read them).
__all__ = ["DAPHNE_ENV", "DAPHNE_OPTIONS", "Command", "check_database"]


@dataclass
class Child:
    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)  # defaults for this child; the environment wins
    process: subprocess.Popen | None = None
    reader: threading.Thread | None = field(default=None, repr=False)


class Command(BaseCommand):
    help = "Migrate, load the division tree and demo data, then run the web server, a Celery worker and beat."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="IPv4 address the web server listens on.")
        parser.add_argument("--port", type=int, default=8000, help="Port the web server listens on.")
        parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes.")
        parser.add_argument("--skip-setup", action="store_true", help="Do not migrate or load data first.")

    def handle(self, *args, **options) -> None:
        # Refused here, before anything starts, when WS_PROCESSES asks for more than the layer allows.
        web_processes = processes_to_run()
        check_database()
        if not options["skip_setup"]:
            self._prepare()
        host, port = options["host"], options["port"]
        self._print_banner(host, port, web_processes)
        manage_py = Path(settings.BASE_DIR) / "manage.py"

        python = [sys.executable]
        children = [
            # serve_ws: one daphne per core on the Redis layer, one on the in-memory layer.
            Child("web", [*python, str(manage_py), "serve_ws", "--host", host, "--port", str(port)]),
            Child(
                "worker",
                [
                    *python,
                    "-m",
                    "celery",
                    "-A",
                    "helpdesk",
                    "worker",
                    "-l",
                    "info",
                    "--concurrency",
                    str(options["concurrency"]),
                ],
            ),
            Child(
                "beat",
                [
                    *python,
                    "-m",
                    "celery",
                    "-A",
                    "helpdesk",
                    "beat",
                    "-l",
                    "info",
                    "-s",
                    str(settings.CELERY_BEAT_SCHEDULE_FILENAME),
                ],
            ),
        ]
        stop = threading.Event()

        def on_signal(_signum, _frame) -> None:
            stop.set()

        handled = [signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
        previous = {sig: signal.signal(sig, on_signal) for sig in handled}
        died: Child | None = None
        try:
            for child in children:
                self._start(child)
            while not stop.wait(0.5):
                died = next((c for c in children if c.process.poll() is not None), None)
                if died:
                    break
        finally:
            self._stop_all(children)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if died is not None:
            raise CommandError(f"{died.name} exited with code {died.process.returncode}; stopped the other processes.")
        self.stdout.write("All processes stopped.")

    # --- Setup ----------------------------------------------------------------------------------
    def _prepare(self) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING("Preparing the database"))
        call_command("migrate", interactive=False)
        call_command("load_divisions", stdout=self.stdout, stderr=self.stderr)
        if settings.DEBUG:
            # Quietly: the banner lists the demo accounts.
            call_command("seed_demo", verbosity=0)
        else:
            self.stdout.write("DEBUG is off: no demo accounts (seed_demo --force creates them for a demo).")

    def _print_banner(self, host: str, port: int, web_processes: int) -> None:
        shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 - only a display name
        base = f"http://{shown}:{port}"
        lines = [
            "",
            f"Education Technology Service Platform — {base}/",
            f"  portal        {base}/            (login: {base}/accounts/login/)",
            f"  admin         {base}/admin/",
            f"  REST API      {base}/api/v1/     docs: {base}/api/docs/   schema: {base}/api/schema/",
            f"  websocket     ws://{shown}:{port}/ws/",
            f"  health        {base}/healthz",
            f"  web server    {web_processes} daphne process{'es' if web_processes > 1 else ''} "
            "(WS_PROCESSES; more than one needs REDIS_URL)",
            f"  database      {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
            f"broker {settings.CELERY_BROKER_URL.split('://', 1)[0]}, "
            f"channel layer {settings.CHANNEL_LAYERS['default']['BACKEND'].rsplit('.', 1)[-1]}",
        ]
        if settings.DEBUG:
            lines.append(f"Demo accounts (password {DEMO_PASSWORD}):")
            lines += [f"  {a.username:<20} {a.name} — {a.description}" for a in DEMO_ACCOUNTS]
        lines += ["Press Ctrl-C to stop.", ""]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    # --- Processes ------------------------------------------------------------------------------
    def _start(self, child: Child) -> None:
        env = {**child.env, **os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE, "PYTHONUNBUFFERED": "1"}
        child.process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
            child.args,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Own process group: Ctrl-C reaches only this command, which then stops the children in
            # order instead of every process racing to die at once.
            start_new_session=True,
        )
        child.reader = threading.Thread(target=self._forward, args=(child,), daemon=True)
        child.reader.start()
        self.stdout.write(f"started {child.name} (pid {child.process.pid})")

    def _forward(self, child: Child) -> None:
        prefix = f"{child.name:<6}| "
        out = self.stdout._out  # the raw stream: lines arrive already terminated
        for raw in iter(child.process.stdout.readline, b""):
            try:
                out.write(prefix + raw.decode("utf-8", errors="replace"))
                out.flush()
            except (OSError, ValueError):
                # Our own output is gone (a closed pipe): keep draining, or the child would block.
                pass
        child.process.stdout.close()

    def _stop_all(self, children: list[Child]) -> None:
        running = [c for c in children if c.process is not None and c.process.poll() is None]
        if running:
            self.stdout.write("Stopping " + ", ".join(c.name for c in running) + " …")
        for child in running:
            # The leader only: a Celery worker shuts its own pool down (a pool process signalled
            # directly dies mid-task and can leave the worker waiting for it).
            child.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        deadline = started + STOP_TIMEOUT
        for child in running:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                self.stdout.write(f"{child.name} stopped after {time.monotonic() - started:.1f} s")
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{child.name} did not stop in {STOP_TIMEOUT:.0f} s; killing it.")
                self._signal(child, signal.SIGKILL)
                child.process.wait()
        for child in children:
            if child.process is not None and child.process.poll() is not None:
                # Worker pool children may still hold the group: make sure none outlives us.
                self._signal(child, signal.SIGKILL)
            if child.reader is not None:
                child.reader.join(timeout=2)

    @staticmethod
    def _signal(child: Child, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if hasattr(os, "killpg"):
                os.killpg(child.process.pid, signum)
            else:  # Windows has no process groups to signal
                child.process.kill()


def check_database() -> None:
    """Fail at once, saying what to do, when PostgreSQL is unreachable or the database is missing.

    Connects directly (psycopg, no pool) with a short time-out. When that fails, the server's
    maintenance database tells whether the named database exists, whatever language the server's
    messages are in. SQLite needs nothing: its file is created by migrate.
    """
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return
    import psycopg

    params = {
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "connect_timeout": DATABASE_CHECK_TIMEOUT,
    }
    params = {k: v for k, v in params.items() if v is not None}
    name = db["NAME"]
    where = f"{params.get('host', 'localhost')}:{params.get('port', 5432)}"
    try:
        psycopg.connect(dbname=name, **params).close()
        return
    except psycopg.OperationalError as exc:
        error = exc
    try:
        with psycopg.connect(dbname="postgres", **params) as maintenance:
            exists = maintenance.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    except psycopg.OperationalError:
        exists = True  # the server itself is unreachable or refuses us: say so below
    if not exists:
        flags = [
            f"{flag} {params[key]}" for flag, key in (("-h", "host"), ("-p", "port"), ("-U", "user")) if key in params
        ]
        createdb = " ".join(["createdb", *flags, name])
        raise CommandError(
            f'The PostgreSQL database "{name}" named in DATABASE_URL does not exist on {where}. '
            f"Create it, then run this command again:\n    {createdb}"
        )
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    raise CommandError(
        f"Cannot connect to the PostgreSQL database named in DATABASE_URL ({name} on {where}): {first_line}"
    )
