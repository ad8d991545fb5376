"""``manage.py serve_ws``: daphne serving ``helpdesk.asgi:application`` (HTTP and the /ws/ websocket),
one process per core, all on one port.

One daphne is one Python interpreter, so one core: a chat send's CPU (the consumer, the services, the
channel layer) is spent under one GIL, and at 500 messages/s one process was the limit on a 2-core
machine while the second core idled (bench/README.md, "Chat"). This command opens N listening
sockets on the same address with ``SO_REUSEPORT`` and gives each to a daphne of its own (``--fd``):
the kernel spreads new connections over them by a hash of the connection, and the processes see
each other's events through the Redis channel layer. With the in-memory layer (no ``REDIS_URL``) the
processes could not, so only one is allowed there.

    manage.py serve_ws [--host H] [--port P] [--processes N] [-- extra daphne options]

N defaults to ``WS_PROCESSES``, else the cores this process may run on (Redis layer) or 1 (in-memory
layer). The children's output is this command's output. SIGTERM or SIGINT stops them all; when any
one exits, the others are stopped and the command exits with that one's code, so a supervisor
(run_platform, docker) restarts the whole server instead of running it short of a process.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# A reconnect storm (every phone after a restart) queues thousands of handshakes on one process; the
# default 5 s handshake limit refused a share of them, which then retried (issue 19's bench). Waiting
# up to 30 s lets each one through on its first try.
DAPHNE_OPTIONS = ("--websocket_connect_timeout", "30")
# Daphne runs the sockets' and requests' database work on a thread pool of ASGI_THREADS threads (read
# when daphne starts; Python's default is cores + 4, 6 here). A chat send holds its thread for its
# round trips to PostgreSQL and Redis: at 500 messages/s the sends queued for a thread while the CPU
# had room (369 delivered/s, p99 7 s; with 16 threads 497/s, p99 0.65 s at the same CPU per message:
# bench/README.md). docker-compose sets the same; a deployment may set its own.
DAPHNE_ENV = {"ASGI_THREADS": "16"}

APPLICATION = "helpdesk.asgi:application"
IN_MEMORY_LAYER = "channels.layers.InMemoryChannelLayer"
# Less than run_platform's STOP_TIMEOUT (20 s), so this command, not run_platform, ends a slow daphne
# and still reports it.
STOP_TIMEOUT = 15.0
# The listening sockets are ours (daphne adopts them as they are), so their accept queue is too.
# Twisted's default of 50 would overflow in a reconnect storm; the kernel drops the SYNs that do not
# fit and the clients retry only a second or more later. The kernel caps this at net.core.somaxconn.
BACKLOG = socket.SOMAXCONN
# Options that choose where daphne listens: the sockets given with --fd are the only ones.
BINDING_OPTIONS = ("-b", "--bind", "-p", "--port", "-u", "--unix-socket", "--fd", "-e", "--endpoint")


def channel_layer_in_memory() -> bool:
    return settings.CHANNEL_LAYERS["default"]["BACKEND"] == IN_MEMORY_LAYER


def processes_to_run(requested: int | None = None) -> int:
    """How many daphne processes: ``requested``, else ``WS_PROCESSES``, else one per usable core on
    the Redis layer and one on the in-memory layer. More than one on the in-memory layer is refused:
    each process would have a layer of its own and a message sent on one would never reach a socket
    held by another."""
    if requested is None and os.environ.get("WS_PROCESSES", "").strip():
        try:
            requested = int(os.environ["WS_PROCESSES"])
        except ValueError:
            raise CommandError(f"WS_PROCESSES must be a whole number, not {os.environ['WS_PROCESSES']!r}.") from None
    if requested is None:
        if channel_layer_in_memory():
            return 1
        # The cores this process may run on (a container's or taskset's CPU set), not the machine's.
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if requested < 1:
        raise CommandError(f"The number of websocket processes must be at least 1, not {requested}.")
    if requested > 1 and channel_layer_in_memory():
        raise CommandError(
            f"{requested} websocket processes need the Redis channel layer: with the in-memory one (no "
            "REDIS_URL) each process has its own layer and would not see the others' events. Set "
            "REDIS_URL, or run one process (--processes 1 / WS_PROCESSES=1)."
        )
    return requested


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening IPv4 TCP socket on host:port that other sockets of ours may bind as well."""
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    except socket.gaierror as exc:
        # daphne's --fd takes the socket as IPv4 (Twisted's fd endpoint default): no IPv6 address here.
        raise CommandError(f"Cannot listen on {host}:{port}: not an IPv4 address or host name ({exc}).") from None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(infos[0][4])
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.") from None
    sock.set_inheritable(True)
    return sock


def _die_with_parent(parent: int) -> None:
    """In the child before exec (Linux): SIGTERM when the launcher dies, even by SIGKILL. An orphaned
    daphne would keep its share of the port and answer with the old code beside a restarted server."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the launcher died before prctl
            os.kill(os.getpid(), signal.SIGTERM)


def exit_code(returncode: int) -> int:
    """A shell's exit code for a child's: 128 + the signal that ended it."""
    return 128 - returncode if returncode < 0 else returncode


class Command(BaseCommand):
    help = "Serve the ASGI application (HTTP and the websocket) with one daphne per core, sharing one port."
    # daphne loads the application itself; checks here would only delay every (re)start.
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="IPv4 address to listen on.")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on.")
        parser.add_argument(
            "--processes",
            type=int,
            help="daphne processes (default: WS_PROCESSES, else one per core with Redis, 1 without).",
        )
        parser.add_argument("daphne_args", nargs="*", help="After --: more daphne options, e.g. --proxy-headers.")

    def handle(self, *args, **options) -> None:
        extra = list(options["daphne_args"])
        if binding := [a for a in extra if a.split("=", 1)[0] in BINDING_OPTIONS]:
            raise CommandError(f"serve_ws chooses where daphne listens: use --host/--port, not {' '.join(binding)}.")
        count = processes_to_run(options["processes"])
        host, port = options["host"], options["port"]
        sockets: list[socket.socket] = []
        try:
            for _ in range(count):
                sockets.append(listening_socket(host, port))
        except CommandError:
            for sock in sockets:
                sock.close()
            raise

        stop = threading.Event()

        def on_signal(_signum, _frame) -> None:
            stop.set()

        handled = [signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
        previous = {sig: signal.signal(sig, on_signal) for sig in handled}
        env = {**DAPHNE_ENV, **os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE}
        children: list[subprocess.Popen] = []
        die_with_parent = functools.partial(_die_with_parent, os.getpid()) if sys.platform == "linux" else None
        died: tuple[int, subprocess.Popen] | None = None
        try:
            for sock in sockets:
                fd = sock.fileno()
                command = [sys.executable, "-m", "daphne", "--fd", str(fd), *DAPHNE_OPTIONS, *extra, APPLICATION]
                children.append(
                    subprocess.Popen(  # noqa: S603 - our own interpreter, our options and the operator's
                        command,
                        env=env,
                        cwd=settings.BASE_DIR,
                        stdin=subprocess.DEVNULL,
                        pass_fds=(fd,),
                        preexec_fn=die_with_parent,
                    )
                )
                # The child holds it now. Kept open here, a dead child's socket would go on taking
                # its share of the connections into a queue nobody accepts from.
                sock.close()
            self.stdout.write(
                f"serve_ws: {count} daphne process{'es' if count > 1 else ''} on {host}:{port} "
                f"(pids {', '.join(str(c.pid) for c in children)})"
            )
            self.stdout.flush()
            while not stop.wait(0.2):
                died = next(((i, c) for i, c in enumerate(children, 1) if c.poll() is not None), None)
                if died:
                    break
        finally:
            for sock in sockets:
                sock.close()
            self._stop_all(children)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if died is not None:
            number, child = died
            raise CommandError(
                f"daphne {number} of {count} (pid {child.pid}) exited with code {child.returncode}; "
                "stopped the others.",
                returncode=exit_code(child.returncode) or 1,
            )

    def _stop_all(self, children: list[subprocess.Popen]) -> None:
        running = [c for c in children if c.poll() is None]
        for child in running:
            child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in running:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"daphne (pid {child.pid}) did not stop in {STOP_TIMEOUT:.0f} s; killing it.")
                child.kill()
                child.wait()
