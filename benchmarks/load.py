"""Loading a server with wrk (``-t1 -c32`` by default, pinned to the other core) and reading
its report."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.checks import ENDPOINTS, Probe

__all__ = ["WrkResult", "Load", "wrk_available"]

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_LATENCY = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    requests: int
    non_2xx: int
    socket_errors: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(data: bytes) -> str:
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in b'"\\' else f"\\{b:03d}" for b in data) + '"'


def _lua_table(headers: dict[str, str]) -> str:
    return "{" + ", ".join(f"[{_lua_string(k.encode())}] = {_lua_string(v.encode())}" for k, v in headers.items()) + "}"


def _script(probes: tuple[Probe, ...]) -> str:
    """A wrk script: one probe's request, pre-built by wrk (no Lua per request); several probes
    sent in turn."""
    if len(probes) == 1:
        probe = probes[0]
        lines = [
            f"wrk.method = {_lua_string(probe.method.encode())}",
            f"wrk.path = {_lua_string(probe.url_path.encode())}",
        ]
        for name, value in probe.headers.items():
            lines.append(f"wrk.headers[{_lua_string(name.encode())}] = {_lua_string(value.encode())}")
        if probe.body:
            lines.append(f"wrk.body = {_lua_string(probe.body)}")
        return "\n".join(lines) + "\n"
    requests = ",\n    ".join(
        f"wrk.format({_lua_string(p.method.encode())}, {_lua_string(p.url_path.encode())}, {_lua_table(p.headers)}, "
        f"{_lua_string(p.body) if p.body else 'nil'})"
        for p in probes
    )
    return (
        "local requests = {}\n"
        "local i = 0\n"
        f"init = function(args)\n  requests = {{\n    {requests}\n  }}\nend\n"
        "request = function()\n  i = i % #requests + 1\n  return requests[i]\nend\n"
    )


def parse(output: str) -> WrkResult:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None:
        raise ValueError(f"no Requests/sec in wrk's output:\n{output}")
    total = re.search(r"(\d+) requests in", output)
    latency = {pct: float(value) * _UNITS[unit] for pct, value, unit in _LATENCY.findall(output)}
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return WrkResult(
        requests_per_s=float(rate[1]),
        p50_ms=latency.get("50"),
        p99_ms=latency.get("99"),
        requests=int(total[1]) if total else 0,
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


class Load:
    """wrk with fixed settings and one script per endpoint (written to ``script_dir``)."""

    def __init__(self, script_dir: Path, *, threads: int, connections: int, cpu: str | None):
        self.threads = threads
        self.connections = connections
        self.cpu = cpu
        self.scripts: dict[str, Path] = {}
        for probe in ENDPOINTS:
            self.scripts[probe.key] = self._write(script_dir, probe.key, (probe,))
        self.scripts["mix"] = self._write(script_dir, "mix", ENDPOINTS)

    @staticmethod
    def _write(script_dir: Path, name: str, probes: tuple[Probe, ...]) -> Path:
        path = script_dir / f"{name}.lua"
        path.write_text(_script(probes))
        return path

    def run(self, base_url: str, script: str, seconds: int) -> WrkResult:
        """``script``: an endpoint key, or ``mix`` for all three in turn (the warm-up)."""
        argv = [
            "wrk", f"-t{self.threads}", f"-c{self.connections}", f"-d{seconds}s", "--latency",
            "-s", str(self.scripts[script]), base_url,
        ]  # fmt: skip
        if self.cpu is not None:
            argv = ["taskset", "-c", self.cpu, *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
        return parse(done.stdout)
