"""Loopback helpers the tests share: a free port, whether something listens, and waiting for a
server process to listen (failing with its output when it exits first).

``tests/`` is on ``sys.path`` (pytest puts the root conftest's folder there), so any test module
can ``from netutil import free_port``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["free_port", "listening", "serve_script", "wait_for_port", "wait_until"]


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS picks it; never a fixed one)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def listening(host: str, port: int, timeout: float = 0.2) -> bool:
    """Whether a TCP connection to ``host:port`` is accepted."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _output_of(proc: subprocess.Popen) -> str:
    stream = proc.stdout
    if stream is None:
        return ""
    data = stream.read()
    return data.decode(errors="replace") if isinstance(data, bytes) else data


def wait_for_port(
    port: int,
    proc: subprocess.Popen,
    deadline: float = 20.0,
    *,
    host: str = "127.0.0.1",
    output: Callable[[], str] | None = None,
) -> None:
    """Poll until ``host:port`` accepts connections; fail (with the process's output, read by
    ``output`` or from its stdout pipe) if ``proc`` exits first or ``deadline`` seconds pass."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            text = output() if output is not None else _output_of(proc)
            raise AssertionError(f"the server exited with {proc.returncode} before listening on {port}:\n{text}")
        if listening(host, port):
            return
        time.sleep(0.05)
    text = output() if output is not None else ""
    raise AssertionError(f"nothing listened on {host}:{port} within {deadline}s\n{text}".rstrip())


@contextlib.contextmanager
def serve_script(
    script: Path, port: int, *, env: dict[str, str] | None = None, stop_timeout: float = 15, log: Path | None = None
) -> Iterator[subprocess.Popen[str]]:
    """Run ``python script`` (in its folder, its own process group) until it listens on ``port``;
    on exit SIGTERM the group, SIGKILL it if it has not stopped within ``stop_timeout``. Its
    output goes to a pipe, or to the file ``log`` (to read after it stopped)."""
    out = open(log, "w") if log is not None else subprocess.PIPE
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=script.parent,
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    if log is not None:
        out.close()  # type: ignore[union-attr]  # the child has its own copy
    try:
        wait_for_port(port, proc, output=(lambda: log.read_text()) if log is not None else None)
        yield proc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(stop_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def wait_until(
    condition: Callable[[], object],
    timeout: float,
    what: str,
    *,
    interval: float = 0.02,
    output: Callable[[], str] | None = None,
) -> object:
    """Poll ``condition`` until it returns something truthy (and return it); at the deadline fail
    naming ``what``, with ``output()`` (a server's log) when given."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            shown = f"\n{output()}" if output is not None else ""
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}{shown}")
        time.sleep(interval)
