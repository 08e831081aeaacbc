"""``meta run`` (foreground, or ``-d`` in the background), ``meta down`` and ``meta restart``.

In the foreground ``meta run`` serves with the backend's own runner (``service.run()``), or
starts the ``main`` script of ``meta.ini`` when no option overrides the address; either way it
loads the service first, so a mistake in it or a port already in use is one line. With ``-d``
it starts itself detached, writes the pidfile, sends output to the log file next to it and
waits until the service accepts connections. ``meta down`` sends SIGTERM to the process in the
pidfile (a Gunicorn or uWSGI pidfile works too) and waits for it to exit; with nothing running
it says so and succeeds. ``--host`` / ``--port`` become the service's address, so every URL
printed is the one that answers.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar

from utilmeta.bin.base import Command, CommandError, echo
from utilmeta.bin.project import Project
from utilmeta.conf.env import EnvWarning
from utilmeta.core.server.backends import BACKEND_INFO
from utilmeta.core.server.backends.listen import accepts, listen_problem, shown_address

__all__ = ["DownCommand", "RestartCommand", "RunCommand", "read_pid", "stop"]

#: the backends whose own runner starts several worker processes (``meta run --workers``)
_MULTIPROCESS_RUNNERS = ", ".join(name for name, row in BACKEND_INFO.items() if row.run_workers)


def read_pid(pidfile: Path) -> int | None:
    """The pid in ``pidfile`` when that process is alive; a stale pidfile is removed."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pidfile.unlink(missing_ok=True)
        return None
    except PermissionError:
        pass  # alive, owned by another user
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has exited and only waits to be reaped by its parent (Linux; elsewhere
    False). A detached service's parent is the init process, which in a container may take
    seconds to reap it: the service has stopped all the same."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # "pid (command) state ...": the command may hold spaces and parentheses
            return stat.read().rpartition(b")")[2].split()[:1] == [b"Z"]
    except OSError:
        return False


def stop(pidfile: Path, timeout: float, force: bool = False) -> int | None:
    """SIGTERM the process of ``pidfile`` and wait for it; the pid stopped, or None if none ran."""
    pid = read_pid(pidfile)
    if pid is None:
        return None
    try:
        os.kill(pid, signal.SIGTERM)
    except PermissionError:
        raise CommandError(f"not allowed to stop pid {pid} (from {pidfile}): run as its user") from None
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            if not force:
                raise CommandError(f"pid {pid} did not stop within {timeout:g}s: `meta down --force` kills it")
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    pidfile.unlink(missing_ok=True)
    return pid


def _check_free(host: str, port: int, project: Project | None = None) -> None:
    """One line when ``host:port`` cannot be listened on; when the project's own service holds
    a live pidfile (``meta run -d``), the line says so rather than blaming another program."""
    problem = listen_problem(host, port, "with --host/--port")
    if problem is None:
        return
    running = None if project is None else read_pid(project.pidfile)
    if project is not None and running is not None and running != os.getpid() and accepts(host, port):
        problem = (
            f"{shown_address(host, port)} is in use: {project.display_name} already runs in the background "
            f"(pid {running}, {project.pidfile}): `meta down` stops it, or choose another with --host/--port"
        )
    raise CommandError(problem)


def _serve_at(service: Any, args: argparse.Namespace) -> tuple[str, int]:
    """The address ``--host`` / ``--port`` choose, made the service's own: the URLs it prints
    (the start banner, ``service.base_url``) are then the ones that answer."""
    if args.host:
        service.host = args.host
    if args.port is not None:
        service.port = args.port
    return service.host, service.port


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "\n".join("  | " + line for line in text[-lines:])


class RunCommand(Command):
    name = "run"
    help = "serve the service (foreground, or -d in the background)"
    examples: ClassVar[tuple[tuple[str, str], ...]] = (
        ("meta run", "serve in the foreground (Ctrl-C stops it)"),
        ("meta run -d --port 8080", "in the background on port 8080; `meta down` stops it"),
        ("meta run --host 0.0.0.0 --port 8000", "reachable from other machines"),
    )

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--host", help="address to listen on (default: the service's host)")
        parser.add_argument("--port", type=int, help="port to listen on (default: the service's port)")
        parser.add_argument(
            "--workers", type=int, help=f"worker processes ({_MULTIPROCESS_RUNNERS} only; use Gunicorn elsewhere)"
        )
        parser.add_argument("-d", "--daemon", action="store_true", help="run in the background, with a pidfile")
        parser.add_argument("--wait", type=float, default=15.0, help="seconds -d waits for the service to answer")

    def handle(self, args: argparse.Namespace) -> int:
        project: Project = args.project
        if args.daemon:
            return self.background(project, args)
        options: dict[str, Any] = {}
        if args.host:
            options["host"] = args.host
        if args.port is not None:
            options["port"] = args.port
        main = project.main_file
        serves = main is not None and not options and args.workers is None
        # loaded first even when the main script serves: a mistake in it is then one line
        with warnings.catch_warnings():
            if serves:
                warnings.simplefilter("ignore", EnvWarning)  # the main script shows them as it loads
            service = project.load_service()
        host, port = _serve_at(service, args)
        _check_free(host, port, project)
        if serves:
            os.execv(sys.executable, [sys.executable, str(main)])
        if args.workers is not None:
            if not service.adaptor.info.run_workers:
                raise CommandError(
                    f"--workers is for {_MULTIPROCESS_RUNNERS}; a {service.backend_name} service runs several workers "
                    f"under Gunicorn or uWSGI (`meta deploy gunicorn`)"
                )
            options["workers"] = args.workers
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _interrupt)  # a graceful stop, like Ctrl-C
        try:
            project.call(lambda: service.run(**options), "cannot start the service")
        except KeyboardInterrupt:
            pass
        except OSError as e:
            if e.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
                raise
            raise CommandError(f"cannot listen on {host}:{port}: {e.strerror}; choose another --host/--port") from None
        return 0

    def background(self, project: Project, args: argparse.Namespace) -> int:
        pidfile = project.pidfile
        running = read_pid(pidfile)
        if running is not None:
            raise CommandError(f"already running (pid {running}, {pidfile}): `meta restart` or `meta down` first")
        service = project.load_service()
        host, port = _serve_at(service, args)
        if port == 0:  # the system would pick one in the child, which no one could find or print
            raise CommandError("meta run -d needs a port to wait on and print, not 0: give one with --port")
        _check_free(host, port)
        command = [sys.executable, "-m", "utilmeta", "--ini", str(project.ini), "run"]
        for flag, value in (("--host", args.host), ("--port", args.port), ("--workers", args.workers)):
            if value is not None:
                command += [flag, str(value)]
        logfile = project.logfile
        try:
            pidfile.parent.mkdir(parents=True, exist_ok=True)
            log_stream = open(logfile, "ab")
        except OSError as e:
            raise CommandError(f"cannot write {logfile} (next to pidfile = {pidfile}): {e.strerror}") from None
        with log_stream as log, open(os.devnull, "rb") as null:
            child = subprocess.Popen(
                command, cwd=project.root, stdin=null, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        pidfile.write_text(f"{child.pid}\n")
        deadline = time.monotonic() + args.wait
        while not accepts(host, port):
            if child.poll() is not None:
                pidfile.unlink(missing_ok=True)
                raise CommandError(
                    f"the service exited at start (status {child.returncode}); its log {logfile}:\n" + _tail(logfile)
                )
            if time.monotonic() > deadline:
                raise CommandError(
                    f"started (pid {child.pid}) but nothing answers on {host}:{port} after {args.wait:g}s; "
                    f"see {logfile}"
                )
            time.sleep(0.05)
        echo(f"{service.name} running in the background: pid {child.pid}, {service.base_url}, log {logfile}")
        return 0


class DownCommand(Command):
    name = "down"
    help = "stop the service started with `meta run -d` (or any server writing the pidfile)"
    examples = (
        ("meta down", "SIGTERM, then wait for it to exit"),
        ("meta down --timeout 60 --force", "wait up to 60s, then SIGKILL it"),
    )

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a graceful stop")
        parser.add_argument("--force", action="store_true", help="SIGKILL it if it does not stop in time")

    def handle(self, args: argparse.Namespace) -> int:
        project: Project = args.project
        pid = stop(project.pidfile, args.timeout, args.force)
        if pid is None:  # what `meta down` is for is already the case
            echo(f"{project.display_name} is not running (no live process in {project.pidfile})")
            return 0
        echo(f"stopped {project.display_name} (pid {pid})")
        return 0


class RestartCommand(RunCommand):
    name = "restart"
    help = "stop the background service if it runs, then start it again with -d"
    examples = (
        ("meta restart", "after a code change"),
        ("meta restart --port 8081", "start it again on another port"),
    )

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        super().arguments(parser)
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the old one to stop")

    def handle(self, args: argparse.Namespace) -> int:
        project: Project = args.project
        pid = stop(project.pidfile, args.timeout, force=False)
        if pid is not None:
            echo(f"stopped {project.display_name} (pid {pid})")
        args.daemon = True
        return self.background(project, args)
