"""``meta run`` / ``meta down`` as a new user runs them, on a scaffolded project of each backend.

- every URL ``meta run`` prints is the one that answers, whatever ``--port`` chose;
- ``meta down`` right after ``meta run -d`` stops the service, twenty times in a row per
  backend (Sanic with two workers, its worker manager included) and leaves no process behind;
- Flask's development server: debug mode only when asked, one access line per request, no
  terminal colour codes in the log file.

The projects are made by the real ``meta setup``; the services run as real processes on free
loopback ports.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from backends_table import FRAMEWORKS
from netutil import free_port, listening, serve_script

#: the backends whose ``meta run`` starts several processes with ``--workers``
WORKERS = {"sanic": ("--workers", "2")}
#: the stop-right-after-start cycles per backend
CYCLES = 20
_URL = re.compile(r"https?://[^\s,]+")


def meta(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "utilmeta", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module", params=[b.name for b in FRAMEWORKS])
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project ``meta setup NAME --backend B`` made, as the README says to start."""
    backend: str = request.param
    name = f"first{backend}"
    where = tmp_path_factory.mktemp(backend)
    made = meta("setup", name, "--backend", backend, cwd=where)
    assert made.returncode == 0, made.stderr
    return where / name


def backend_of(project: Path) -> str:
    return project.name.removeprefix("first")


def test_every_printed_url_answers(project: Path) -> None:
    """``meta run -d --port P`` prints the URL on P (its log's start line too), and both answer."""
    port = free_port()
    started = meta("run", "-d", "--port", str(port), *WORKERS.get(backend_of(project), ()), cwd=project)
    assert started.returncode == 0, started.stderr
    try:
        printed = _URL.findall(started.stdout)
        log = project / f"{project.name}.log"
        banner = [line for line in log.read_text().splitlines() if line.startswith("UtilMeta service")]
        assert len(printed) == 1 and len(banner) == 1, (started.stdout, banner)
        for url in (printed[0], *_URL.findall(banner[0])):
            assert url == f"http://127.0.0.1:{port}/api"
            answer = httpx.get(url + "/hello", timeout=20)
            assert (answer.status_code, answer.text) == (200, "hello, world")
    finally:
        stopped = meta("down", cwd=project)
    assert stopped.returncode == 0, stopped.stderr


def test_service_run_with_a_port_prints_that_port(project: Path) -> None:
    """``service.run(port=P)`` in a script, the README way: the start line names P."""
    port = free_port()
    script = project / "serve_on.py"
    script.write_text(
        textwrap.dedent(
            f"""\
            from server import service

            service.run(port={port})
            """
        )
    )
    log = project / "serve_on.log"
    with serve_script(script, port, log=log):
        # answered: the server serves after its banner (printed once bound, so not yet when the port
        # first accepts a connection)
        assert httpx.get(f"http://127.0.0.1:{port}/api/hello", timeout=20).status_code == 200
    banner = [line for line in log.read_text().splitlines() if line.startswith("UtilMeta service")]
    assert len(banner) == 1 and f"at http://127.0.0.1:{port}/api" in banner[0], log.read_text()


# a driver process running the real `meta` entry point CYCLES times: the command's own parent-
# side work is then imported once, and each cycle costs what the server's start and stop cost
_CYCLES = """
import contextlib, io, socket, sys, time
from pathlib import Path
from utilmeta.bin.meta import main


def group_left(pgid):
    # the processes of group pgid still running (not zombies): the server, its workers, helpers
    left = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_bytes() if entry.name.isdigit() else b""
        except OSError:
            continue
        fields = stat.rpartition(b")")[2].split()  # state, ppid, pgrp, ...
        if fields and int(fields[2]) == pgid and fields[0] != b"Z":
            left.append(entry.name)
    return left


pidfile = Path({pidfile!r})
for cycle in range({cycles}):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        started = main(["run", "-d", "--port", str(port), *{workers!r}])
        pid = int(pidfile.read_text()) if started == 0 else None
        stopped = main(["down", "--timeout", "20"])
    if started or stopped:
        sys.exit(f"cycle {{cycle}}: run -d {{started}}, down {{stopped}}: {{out.getvalue()}}")
    with socket.socket() as s:
        listening = s.connect_ex(("127.0.0.1", port)) == 0
    # helpers (multiprocessing's resource tracker) exit once the server's last process has
    deadline = time.monotonic() + 10
    while (left := group_left(pid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    if left or listening:
        sys.exit(f"cycle {{cycle}}: after meta down, port {{port}} listening={{listening}}, still running: {{left}}")
print("ok", {cycles})
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table in /proc")
def test_down_right_after_run_stops_every_time(project: Path) -> None:
    backend = backend_of(project)
    driver = _CYCLES.format(
        pidfile=str(project / f"{project.name}.pid"),
        cycles=CYCLES,
        workers=list(WORKERS.get(backend, ())),
    )
    pidfile = project / f"{project.name}.pid"
    try:
        done = subprocess.run(
            [sys.executable, "-c", driver], cwd=project, capture_output=True, text=True, timeout=600, env=os.environ
        )
    finally:  # a service that did not stop: its whole process group (meta run -d starts a session)
        if pidfile.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.killpg(int(pidfile.read_text()), signal.SIGKILL)
    log = project / f"{project.name}.log"
    assert done.returncode == 0, done.stderr + done.stdout + "\n" + (log.read_text()[-3000:] if log.exists() else "")
    assert done.stdout.strip() == f"ok {CYCLES}"


def test_down_with_nothing_running_says_so(project: Path) -> None:
    done = meta("down", cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{project.name} is not running")


def _served_log(project: Path, env: dict[str, str] | None = None) -> str:
    log = project / f"{project.name}.log"
    log.unlink(missing_ok=True)
    port = free_port()
    started = meta("run", "-d", "--port", str(port), cwd=project, env=env)
    assert started.returncode == 0, started.stderr
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/api/hello").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/api/nothing/here").status_code == 404
    finally:
        assert meta("down", cwd=project).returncode == 0
    assert not listening("127.0.0.1", port)
    return log.read_text()


def test_one_plain_access_line_per_request(project: Path) -> None:
    text = _served_log(project)
    assert "\x1b[" not in text  # no terminal colour codes in a file
    for path in ("/api/hello", "/api/nothing/here"):
        lines = [line for line in text.splitlines() if path in line]
        assert len(lines) == 1 and "utilmeta.access" in lines[0], text


def test_flask_debug_mode_only_when_asked(project: Path) -> None:
    if backend_of(project) != "flask":
        pytest.skip("Flask's debug mode")
    assert "Debug mode: off" in _served_log(project)
    assert "Debug mode: on" in _served_log(project, env={"FLASK_DEBUG": "1"})
