"""``meta run --port 0``: the system picks a free port, and the start banner names the port the
server is bound to, not 0, on each backend; a request to that port answers.

A server that does not report the port it bound (Flask's development server under werkzeug's
reloader, whose parent binds before the service's process runs) gets a banner saying so instead
of a URL with port 0.

Each case is a real ``meta run`` process on a tiny project in ``tmp_path``; the banner line is
waited for on its output (with a deadline), then the process group is stopped.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from backends_table import BACKENDS
from netutil import wait_for_port
from optional import optional_import

import utilmeta

ROOT = Path(utilmeta.__file__).resolve().parents[1]
SERVER = """
from utilmeta import UtilMeta
from utilmeta.core import api


class RootAPI(api.API):
    @api.get
    def hello(self) -> str:
        return "hello"


service = UtilMeta(__name__, backend={backend!r}, name="portzero", api=RootAPI, route="/api"{options})
"""
BANNER = "UtilMeta service 'portzero'"


class Running:
    """A ``meta run`` process whose output lines are read as they come (no sleeps)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # the process closed its output

    def wait_for(self, pattern: str, deadline: float = 30.0) -> re.Match[str]:
        """The first output line matching ``pattern``; fails with the output so far if the
        process ends or ``deadline`` seconds pass first."""
        end = time.monotonic() + deadline
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(
                    f"meta run ended ({self.proc.wait()}) before {pattern!r}:\n" + "\n".join(self.seen)
                )
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        raise AssertionError(f"no line matching {pattern!r} within {deadline}s:\n" + "\n".join(self.seen))


@contextlib.contextmanager
def meta_run(project: Path, *argv: str, extra_env: dict[str, str] | None = None) -> Iterator[Running]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WERKZEUG_", "FLASK_"))}
    env.update(extra_env or {})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "utilmeta", "run", *argv],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group: the workers of a server stop with it
    )
    running = Running(proc)
    try:
        yield running
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
        running.reader.join(timeout=15)  # the output ends with the group
        assert proc.stdout is not None
        proc.stdout.close()


def project(tmp_path: Path, backend: str, options: str = "") -> Path:
    module = BACKENDS[backend].module
    if module is not None:
        optional_import(module, f"the {backend} extra (scripts/install installs every extra)")
    (tmp_path / "server.py").write_text(SERVER.format(backend=backend, options=options).lstrip())
    (tmp_path / "meta.ini").write_text("[utilmeta]\nservice = server:service\n")
    return tmp_path


def answers(port: int) -> None:
    response = httpx.get(f"http://127.0.0.1:{port}/api/hello", timeout=20)
    assert (response.status_code, response.text) == (200, "hello")


CASES = [pytest.param(name, (), id=name) for name in BACKENDS]
# Sanic's worker manager: the main process binds, the workers serve on its socket
CASES.append(pytest.param("sanic", ("--workers", "2"), id="sanic-2-workers"))


@pytest.mark.parametrize(("backend", "options"), CASES)
def test_the_banner_names_the_port_the_system_picked(tmp_path: Path, backend: str, options: tuple[str, ...]) -> None:
    with meta_run(project(tmp_path, backend), "--port", "0", *options) as running:
        banner = running.wait_for(rf"^{BANNER}.*")
        found = re.search(r" at http://127\.0\.0\.1:(\d+)/api$", banner.group(0))
        assert found, banner.group(0)
        port = int(found.group(1))
        assert port != 0
        docs = running.wait_for(r"^  API docs: (\S+)$")
        assert docs.group(1) == f"http://127.0.0.1:{port}/api/docs"
        # bound when the banner is printed; uvicorn listens once the startup hooks have run
        wait_for_port(port, running.proc, output=lambda: "\n".join(running.seen))
        answers(port)


def test_a_server_that_does_not_report_the_port_says_so(tmp_path: Path) -> None:
    """Werkzeug's reloader: its parent process binds port 0 and the service runs in a child."""
    with meta_run(project(tmp_path, "flask", ", auto_reload=True"), "--port", "0") as running:
        banner = running.wait_for(rf"^{BANNER}.*").group(0)
        assert banner.endswith(
            "at 127.0.0.1, path /api, on a port the system picks (the server's own start line names it)"
        ), banner
        assert ":0" not in banner
        assert running.wait_for(r"^  API docs: (.*)$").group(1) == "/api/docs on that port"
        # the server's own line, as the banner says
        answers(int(running.wait_for(r"Running on http://127\.0\.0\.1:(\d+)").group(1)))


def test_flask_in_debug_mode_names_the_port_too(tmp_path: Path) -> None:
    """The debugger wraps the app as app.run(debug=True) does; Flask's own lines say debug is on."""
    with meta_run(project(tmp_path, "flask"), "--port", "0", extra_env={"FLASK_DEBUG": "1"}) as running:
        banner = running.wait_for(rf"^{BANNER}.* at http://127\.0\.0\.1:(\d+)/api$")
        port = int(banner.group(1))
        running.wait_for(r"Debug mode: on")
        wait_for_port(port, running.proc, output=lambda: "\n".join(running.seen))
        answers(port)
