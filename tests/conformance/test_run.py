"""``service.run()`` on every backend, sync and async, as a real process: it listens on the ``host``
and ``port`` given (and nowhere else), prints one banner line, runs the startup hook once before
serving, answers in production without tracebacks, and on SIGTERM stops gracefully, running the
shutdown hook once."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backends_table import Cell
from netutil import free_port, listening, wait_for_port

HERE = Path(__file__).resolve().parent
#: a loopback address other than 127.0.0.1: a server bound to the default host would not answer on it
HOST = "127.0.0.2"
#: exit status after SIGTERM: 0, or the signal itself — Uvicorn re-raises it once it has shut down
GRACEFUL = (0, -signal.SIGTERM)

SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from app import make_service
service = make_service({backend!r}, {style!r}, production=True, host={host!r}, port={port})
if {backend!r} == "django":  # production refuses to start without a secret key
    from utilmeta.core.server.backends.django import DjangoSettings
    service.use(DjangoSettings(secret_key="run-test-" + "k" * 50))
app = service.application()
if __name__ == "__main__":
    service.run()
"""


def _marks(path: Path, kind: str) -> list[str]:
    if not path.exists():
        return []
    return [pid for event, pid in (line.split() for line in path.read_text().splitlines()) if event == kind]


def test_run_honours_host_port_production_and_hooks(backend: Cell, tmp_path: Path) -> None:
    port = free_port()
    hooks = tmp_path / "hooks.txt"
    (tmp_path / "server.py").write_text(
        SCRIPT.format(here=str(HERE), backend=backend.name, style=backend.style, host=HOST, port=port)
    )
    log = tmp_path / "server.out"
    env = {**os.environ, "UTILMETA_TEST_HOOK_FILE": str(hooks), "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "server.py"],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            wait_for_port(port, proc, 60, host=HOST, output=log.read_text)
            assert not listening("127.0.0.1", port), f"listening beyond host={HOST}"
            with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=10, trust_env=False) as client:
                hello = client.get("/api/hello")
                assert (hello.status_code, hello.text) == (200, "world")
                crash = client.get("/api/crash")
                assert crash.status_code == 500
                assert b"internal detail" not in crash.content and b"Traceback" not in crash.content
            started = _marks(hooks, "start")
            assert len(started) == 1, (started, log.read_text())  # one worker, one startup
            os.killpg(proc.pid, signal.SIGTERM)
            assert proc.wait(30) in GRACEFUL, log.read_text()
        finally:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    output = log.read_text()
    assert _marks(hooks, "stop") == started, output
    banners = [line for line in output.splitlines() if line.startswith("UtilMeta service")]
    mode = "async" if backend.asynchronous else "sync"
    assert len(banners) == 1, output
    assert banners[0].startswith(f"UtilMeta service 'conformance' 1.0.0 on {backend.name} ")
    assert banners[0].endswith(f"({mode}) at http://{HOST}:{port}/api"), banners[0]
    assert "API docs:" not in output  # in production the docs are off: the banner names none


def test_run_on_a_port_in_use_is_one_line_before_the_hooks(backend: Cell, tmp_path: Path) -> None:
    # `python server.py` (the README's way, and scripts/demo's) while another program holds the port
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]
        (tmp_path / "server.py").write_text(
            SCRIPT.format(here=str(HERE), backend=backend.name, style=backend.style, host=HOST, port=port)
        )
        hooks = tmp_path / "hooks.txt"
        env = {**os.environ, "UTILMETA_TEST_HOOK_FILE": str(hooks)}
        done = subprocess.run(
            [sys.executable, "server.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr == (
        f"utilmeta: error: {HOST}:{port} is in use by another program: stop it, or choose another "
        "with UtilMeta(host=..., port=...) or service.run(host=..., port=...)\n"
    ), done.stderr
    assert "UtilMeta service" not in done.stdout  # nothing started: no banner
    assert _marks(hooks, "start") == []
