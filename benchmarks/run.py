"""The benchmark driver: serve every app, check it, load it with wrk, time it in process.

    python -m benchmarks.run [--duration 3] [--repeat 3] [--only flask] [--quick]
                             [--json out.json] [--markdown]

(``scripts/bench`` installs what this needs, then runs it.) Per server (uvicorn, gunicorn
sync and gevent, sanic, tornado): start it once per app, pinned to CPU 0 on a free loopback port,
wait for the port, check the three endpoints' answers and that bad requests get 400, read the
serving process's RSS, warm up with all three endpoints in turn; then ``wrk -t1 -c32 --latency``
from CPU 1, ``--repeat`` times per endpoint, each run going to every app in turn; medians are
reported. Then, per app, in-process calls/s and import time in fresh subprocesses
(:mod:`benchmarks.calls`). A row that cannot run is reported as unavailable.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from benchmarks.catalog import ROWS, App, Row, select
from benchmarks.checks import BAD_REQUESTS, ENDPOINTS, Probe, verify
from benchmarks.load import Load, wrk_available
from benchmarks.report import CallsResult, HTTPResult, calls_tables, http_tables
from benchmarks.servers import ROOT, Running, ServerError, rss_kib, start

PACKAGES = (
    "utilmeta", "django", "flask", "starlette", "fastapi", "sanic", "tornado", "litestar", "pydantic", "msgspec",
    "uvicorn", "httptools", "uvloop", "gunicorn", "gevent",
)  # fmt: skip


class CheckFailed(RuntimeError):
    """An app answered a check wrongly: it is not loaded."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _tail(error: str, lines: int = 3) -> str:
    return "\n      ".join(line for line in error.strip().splitlines()[-lines:])


def _short(error: str) -> str:
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    text = lines[-1] if lines else "failed"
    return text if len(text) <= 90 else text[:87] + "..."


# -- over HTTP ---------------------------------------------------------------------------------


def _ask(server: Running, probe: Probe) -> tuple[int, str | None, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(probe.method, probe.url_path, body=probe.body or None, headers=probe.headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


def check_http(server: Running) -> None:
    for probe in (*ENDPOINTS, *BAD_REQUESTS):
        problem = verify(probe, *_ask(server, probe))
        if problem:
            raise CheckFailed(problem)


def _fail(result: HTTPResult, error: Exception) -> None:
    log(f"    {result.row.label} unavailable: {type(error).__name__}: {_tail(str(error))}")
    expected = isinstance(error, (ServerError, CheckFailed))
    result.error = _short(str(error)) if expected else f"{type(error).__name__}: {_short(str(error))}"
    result.runs.clear()


def bench_server(
    rows: list[Row], load: Load, args: argparse.Namespace, log_dir: Path, cpu: str | None
) -> list[HTTPResult]:
    """Load ``rows`` — every app of one server — interleaved: all of them are started (idle
    servers use next to no CPU), then each wrk run goes to each app in turn, so a slow drift of the
    machine (another process, frequency) weighs on all of them alike, not on one row's ratio."""
    results = [HTTPResult(row) for row in rows]
    live: list[tuple[HTTPResult, Running]] = []
    try:
        for result in results:
            try:
                server = start(result.row, log_dir, cpu)
            except Exception as e:  # one row's failure (an adaptor that does not import yet...) must not stop the run
                _fail(result, e)
                continue
            try:
                check_http(server)
                result.rss_kib = rss_kib(server.serving_pid())
                if args.warmup:
                    load.run(server.base_url, "mix", args.warmup)
                live.append((result, server))
            except Exception as e:
                _fail(result, e)
                server.stop()
        for _ in range(args.repeat):
            for probe in ENDPOINTS:
                for result, server in list(live):
                    try:
                        result.runs.setdefault(probe.key, []).append(
                            load.run(server.base_url, probe.key, args.duration)
                        )
                        if not server.alive():
                            raise ServerError(f"the server exited under load:\n{server.log_tail()}")
                    except Exception as e:
                        _fail(result, e)
                        live = [pair for pair in live if pair[1] is not server]
                        server.stop()
    finally:
        for _, server in live:
            server.stop()
    for result in results:
        if not result.error:
            rates = "  ".join(f"{k} {result.rate(k):,.0f}/s" for k in result.runs)
            log(f"    {result.row.label}: {rates}  (RSS {(result.rss_kib or 0) / 1024:.1f} MiB)")
    return results


def run_http(rows: list[Row], args: argparse.Namespace, cpus: tuple[str, str] | None) -> list[HTTPResult]:
    by_server: dict[str, list[Row]] = {}
    for row in rows:
        by_server.setdefault(row.server.key, []).append(row)
    results = []
    with tempfile.TemporaryDirectory(prefix="utilmeta-bench-") as tmp:
        load = Load(Path(tmp), threads=args.threads, connections=args.connections, cpu=cpus[1] if cpus else None)
        log_dir = Path(args.logs) if args.logs else Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        for i, (key, group) in enumerate(by_server.items(), 1):
            log(f"[{i}/{len(by_server)}] {key}: {', '.join(row.app.key for row in group)}")
            results += bench_server(group, load, args, log_dir, cpus[0] if cpus else None)
    return results


# -- in process --------------------------------------------------------------------------------


def _calls_subprocess(app: App, extra: list[str], cpu: str | None) -> dict[str, Any]:
    argv = [sys.executable, "-m", "benchmarks.calls", app.target, app.interface, *extra]
    if cpu is not None:
        argv = ["taskset", "-c", cpu, *argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}")
    data: dict[str, Any] = json.loads(lines[-1])
    if data.get("error"):
        raise CheckFailed(data["error"])
    return data


def run_calls(apps: list[App], args: argparse.Namespace, cpu: str | None) -> list[CallsResult]:
    results = []
    for i, app in enumerate(apps, 1):
        log(f"[{i}/{len(apps)}] in process: {app.key}")
        result = CallsResult(app)
        try:
            data = _calls_subprocess(app, ["--seconds", str(args.inprocess_seconds)], cpu)
            result.calls_per_s = data["calls_per_s"]
            result.rss_kib = data.get("rss_kib")
            result.import_ms.append(data["import_ms"])
            rates = "  ".join(f"{k} {v:,.0f}/s" for k, v in result.calls_per_s.items())
            log(f"    {rates}")
        except Exception as e:  # as for the rows: report the app, go on
            log(f"    unavailable: {_tail(str(e))}")
            result.error = _short(str(e))
        results.append(result)
    # fresh imports in rounds, each round importing every app in turn (as the wrk runs go): a
    # drift of the machine weighs on an app and its baseline alike
    live = [r for r in results if r.error is None]
    for round_ in range(2, args.import_repeat + 1):
        log(f"imports, round {round_}/{args.import_repeat}")
        for result in live:
            try:
                result.import_ms.append(_calls_subprocess(result.app, ["--import-only"], cpu)["import_ms"])
            except Exception as e:
                result.error = _short(str(e))
    for result in live:
        if result.imported is not None:
            log(f"    {result.app.key}: import {result.imported:.0f} ms (fastest of {len(result.import_ms)})")
    return results


# -- the run -----------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def _cpus() -> tuple[str, str] | None:
    """(server CPU, wrk CPU), or None when there are not two CPUs to pin to."""
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(available) < 2 or shutil.which("taskset") is None:
        return None
    return str(available[0]), str(available[1])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run (default 3)")
    parser.add_argument("--repeat", type=int, default=3, help="wrk runs per endpoint; medians reported (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of mixed load before measuring (default 1)")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t (default 1)")
    parser.add_argument(
        "--only", action="append", default=[], metavar="TEXT", help="rows whose 'server · app' has TEXT (repeatable)"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 s × 1, short in-process timing")
    parser.add_argument("--no-http", action="store_true", help="skip the servers (in-process numbers only)")
    parser.add_argument("--no-inprocess", action="store_true", help="skip the in-process numbers and import times")
    parser.add_argument("--inprocess-seconds", type=float, default=0.9, help="in-process timing per endpoint")
    parser.add_argument(
        "--import-repeat", type=int, default=7, help="fresh imports per app, in rounds; the fastest reported"
    )
    parser.add_argument("--json", metavar="PATH", help="write every measurement to PATH")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--logs", metavar="DIR", help="keep the servers' output in DIR")
    parser.add_argument("--list", action="store_true", help="list the rows and exit")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.repeat, args.warmup = 2, 1, 1
        args.inprocess_seconds, args.import_repeat = 0.3, 1
    if args.duration < 1 or args.repeat < 1 or args.import_repeat < 1:
        parser.error("--duration, --repeat and --import-repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = select(ROWS, args.only)
    if args.list:
        for row in rows:
            print(row.label)
        return 0
    if not rows:
        log(f"no row matches {args.only}; see --list")
        return 2
    apps = list({row.app.key: row.app for row in rows}.values())
    cpus = _cpus()
    versions = _versions()
    started = time.monotonic()
    packages = ", ".join(f"{k} {v}" for k, v in versions.items())
    header = f"{_cpu_model()}, {os.cpu_count()} CPUs; Python {platform.python_version()}; {packages}"
    log(header)
    load_before = _load_average()
    if load_before > 0.5:
        log(
            f"warning: the machine is not idle (load average {load_before:.2f}): other processes compete for the "
            "CPUs and the numbers will be noisy"
        )
    if cpus is None:
        log("warning: fewer than 2 CPUs (or no taskset): server and wrk are not pinned; numbers are not comparable")
    http_results: list[HTTPResult] = []
    if not args.no_http:
        if wrk_available():
            log(
                f"HTTP: {len(rows)} rows, wrk -t{args.threads} -c{args.connections} -d{args.duration}s × {args.repeat}"
                + (f", server on CPU {cpus[0]}, wrk on CPU {cpus[1]}" if cpus else "")
            )
            http_results = run_http(rows, args, cpus)
        else:
            log("wrk is not installed (apt-get install wrk): skipping the HTTP benchmark")
    calls_results: list[CallsResult] = []
    if not args.no_inprocess:
        log(f"in process: {len(apps)} apps, {args.inprocess_seconds} s per endpoint")
        calls_results = run_calls(apps, args, cpus[0] if cpus else None)
    log(f"done in {time.monotonic() - started:.0f} s")
    header += f"\nload average before the run: {load_before:.2f} (other processes; 0 on an idle machine)"

    heading = "### " if args.markdown else "== "
    print(f"{heading}Environment\n\n{header}\n")
    if http_results:
        print(
            f"{heading}HTTP: requests/s (median of {args.repeat} × {args.duration} s, "
            f"wrk -t{args.threads} -c{args.connections}), one worker process\n"
        )
        print(http_tables(http_results, args.markdown) + "\n")
    if calls_results:
        print(f"{heading}In process: calls/s (no server), import time and RSS after the first request\n")
        print(calls_tables(calls_results, args.markdown) + "\n")
    if args.json:
        data = {
            "environment": {
                "cpu": _cpu_model(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_average_before": load_before,
            },
            "versions": versions,
            "settings": {k: v for k, v in vars(args).items() if k not in ("json", "list")},
            "http": [r.as_dict() for r in http_results],
            "inprocess": [r.as_dict() for r in calls_results],
        }
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
        log(f"wrote {args.json}")
    failed = [r for r in http_results if r.error] + [r for r in calls_results if r.error]
    return 1 if failed and len(failed) == len(http_results) + len(calls_results) else 0


if __name__ == "__main__":
    sys.exit(main())
