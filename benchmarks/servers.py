"""Starting a server process pinned to a CPU core, waiting for its port, and stopping it.

ASGI apps run on uvicorn (httptools, uvloop), WSGI apps on gunicorn (sync or gevent worker),
Sanic and Tornado apps on their own server (:mod:`benchmarks.serve`); always one worker process,
no access log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.catalog import Row

__all__ = ["ServerError", "Running", "command", "free_port", "start", "rss_kib"]

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 60.0


class ServerError(RuntimeError):
    """The server did not start (its log's tail is in the message)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def command(row: Row, port: int) -> list[str]:
    """The server's command line for ``row`` (without the CPU pinning)."""
    python = sys.executable
    target = row.app.target
    key = row.server.key
    if key == "uvicorn":
        return [
            python, "-m", "uvicorn", "--http", "httptools", "--loop", "uvloop", "--workers", "1",
            "--no-access-log", "--log-level", "warning", "--host", "127.0.0.1", "--port", str(port), target,
        ]  # fmt: skip
    if key.startswith("gunicorn-"):
        worker = key.removeprefix("gunicorn-")
        return [
            python, "-m", "gunicorn", "--workers", "1", "--worker-class", worker, "--bind", f"127.0.0.1:{port}",
            "--log-level", "warning", "--worker-connections", "1000", "--graceful-timeout", "2", target,
        ]  # fmt: skip
    return [python, "-m", "benchmarks.serve", key, target, "--host", "127.0.0.1", "--port", str(port)]


@dataclass
class Running:
    row: Row
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serving_pid(self) -> int:
        """The process answering requests: gunicorn's worker, else the server process itself."""
        pid = self.process.pid
        if self.row.server.key.startswith("gunicorn-"):
            children = _children(pid)
            if children:
                return children[0]
        return pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop the server's whole process group (the server and its workers, started by us)."""
        process = self.process
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            if process.poll() is not None:
                break
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        try:  # workers that outlived their parent are in the same group
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        pass
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def rss_kib(pid: int) -> int | None:
    """VmRSS of ``pid`` in KiB, from /proc (None where there is no /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _wait_for_port(process: subprocess.Popen[bytes], port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def start(row: Row, log_dir: Path, cpu: str | None) -> Running:
    """Start ``row``'s server (pinned to ``cpu`` with taskset) and wait for its port; the caller
    stops it (:meth:`Running.stop`). Raises :class:`ServerError`, the server stopped, when the
    port does not open."""
    port = free_port()
    argv = command(row, port)
    if cpu is not None:
        argv = ["taskset", "-c", cpu, *argv]
    log = log_dir / f"{row.label.replace(' · ', '_')}.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        # a session of its own: stopping the server stops its workers, and nothing else
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    server = Running(row, port, process, log)
    if not _wait_for_port(process, port, time.monotonic() + STARTUP_TIMEOUT):
        server.stop()
        raise ServerError(server.log_tail() or f"no answer on port {port} within {STARTUP_TIMEOUT:.0f} s")
    return server
