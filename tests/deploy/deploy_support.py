"""Helpers for the deployment tests: tools, free loopback ports, processes we start and stop.

A test that needs a missing tool skips with the reason, except under CI (``CI=true``),
where a missing tool fails the test.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from netutil import free_port
from optional import unavailable

BIN = Path(sys.executable).parent
NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


def require(available: bool, reason: str) -> None:
    """Skip (or, under CI, fail) when a tool the test needs is missing."""
    if not available:
        unavailable(reason)


def require_module(name: str, package: str | None = None) -> None:
    require(importlib.util.find_spec(name) is not None, f"{package or name} is not installed")


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return next((c for c in NGINX_CANDIDATES if os.access(c, os.X_OK)), None)


def require_nginx() -> str:
    binary = nginx_binary()
    require(binary is not None, "nginx is not installed (apt-get install nginx)")
    assert binary is not None
    return binary


def require_executable(name: str, package: str) -> Path:
    path = BIN / name
    found = path if os.access(path, os.X_OK) else None
    require(found is not None, f"{name} is not installed in this environment (pip install {package})")
    assert found is not None
    return found


def free_ports(count: int, host: str = "127.0.0.1") -> int:
    """The first of ``count`` consecutive free ports."""
    for _ in range(200):
        base = free_port(host)
        if base + count > 65535:
            continue
        sockets = []
        try:
            for offset in range(count):
                s = socket.socket()
                sockets.append(s)
                s.bind((host, base + offset))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError(f"no {count} consecutive free ports")


def accepts(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Process:
    """A process group we start (stdout and stderr to a log file) and stop at the end."""

    def __init__(self, args: list[str], *, cwd: Path, log: Path, env: dict[str, str] | None = None):
        self.args = args
        self.log = log
        with open(log, "ab") as out:
            self.popen = subprocess.Popen(
                args,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def wait_port(self, port: int, timeout: float = 20.0, host: str = "127.0.0.1") -> None:
        deadline = time.monotonic() + timeout
        while not accepts(port, host):
            if not self.alive():
                raise AssertionError(f"{self.args[0]} exited ({self.popen.returncode}):\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on {host}:{port} after {timeout:g}s:\n{self.output()[-3000:]}")
            time.sleep(0.02)

    def send(self, sig: int) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        """Stop the whole group we started: ``sig`` first, SIGKILL after ``timeout``."""
        if self.alive():
            try:
                os.kill(self.pid, sig)
                self.popen.wait(timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)  # leftovers of our own group (workers of a killed master)
        except (ProcessLookupError, PermissionError):
            pass
        if self.popen.poll() is None:
            self.popen.wait(5)


def children(pid: int) -> set[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry))
    return found


def nginx_main_config(prefix: Path, site: Path, *, access_log: Path) -> str:
    """A minimal nginx.conf around a generated site, with every path under ``prefix``."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / (kind + '_temp')};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\n"
        f"events {{\n    worker_connections 256;\n}}\n"
        f"http {{\n{temp}\n"
        f"    log_format e2e '$remote_addr $request_id $status \"$request\"';\n"
        f"    access_log {access_log} e2e;\n"
        f"    include {site};\n}}\n"
    )


class Nginx:
    """Nginx as the current user, on a generated site, with all its files under ``prefix``."""

    def __init__(self, binary: str, prefix: Path, site: Path):
        self.binary = binary
        self.prefix = prefix
        self.access_log = prefix / "nginx-access.log"
        self.config = prefix / "nginx.conf"
        self.config.write_text(nginx_main_config(prefix, site, access_log=self.access_log))
        self.process: Process | None = None

    def globals(self) -> str:
        return f"daemon off; pid {self.prefix / 'nginx.pid'}; error_log stderr;"

    def test(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.binary, "-t", "-p", str(self.prefix), "-c", str(self.config), "-g", self.globals()],
            capture_output=True,
            text=True,
            timeout=30,
        )

    def start(self, port: int) -> None:
        args = [self.binary, "-p", str(self.prefix), "-c", str(self.config), "-g", self.globals()]
        self.process = Process(args, cwd=self.prefix, log=self.prefix / "nginx.log")
        self.process.wait_port(port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(signal.SIGQUIT, timeout=5)
