"""Per-request cost of the core, in process (no server, no socket).

    python benchmarks/inprocess.py [--seconds 1.0]

Measures the three benchmark endpoints through (a) the router directly and (b) the bare WSGI
callable (environ → core request → router → WSGI response), and prints µs per call and calls/s.
Then, side by side in this one process, the ASGI applications against their references: utilmeta
on Starlette against native Starlette, utilmeta's bare ``'asgi'`` backend against the hand-written
ASGI callable of ``benchmarks/apps/bare_asgi.py``, with utilmeta on WSGI and on Django's WSGI
handler for reference. Every ASGI app is driven the same way: a fresh scope per call and one
``coroutine.send(None)`` (nothing in these endpoints waits for I/O, so no event loop is needed, and
none of its cost is counted for one app and not the other).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # for benchmarks.apps

from core_app import BenchAPI

from utilmeta import UtilMeta
from utilmeta.core.request import Request
from utilmeta.core.request.request import Headers
from utilmeta.core.server.service import _clear_service

BODY = b'{"name": "alice", "age": 30, "tags": ["a", "b"]}'

CASES = {
    "hello (text)": ("GET", "/hello", "", b""),
    "typed path+query -> JSON": ("GET", "/items/42", "q=abc&limit=5", b""),
    "validated JSON body -> JSON": ("POST", "/users", "", BODY),
}


def environ(method: str, path: str, qs: str, body: bytes) -> dict:
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": qs,
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "HTTP_HOST": "bench",
        "wsgi.input": io.BytesIO(body),
    }
    if body:
        env["CONTENT_TYPE"] = "application/json"
        env["CONTENT_LENGTH"] = str(len(body))
    return env


def scope(method: str, path: str, qs: str, body: bytes) -> dict:
    headers = [(b"host", b"bench")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": qs.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }


def asgi_call(app: Any, method: str, path: str, qs: str, body: bytes) -> Callable[[], object]:
    """One request to an ASGI app, driven without an event loop (the same for every app). The
    first request runs on an event loop: it may start the service, which can truly wait."""
    message = {"type": "http.request", "body": body, "more_body": False}

    async def receive() -> dict:
        return message

    def once() -> list[dict]:
        sent: list[dict] = []

        async def send(m: dict) -> None:
            sent.append(m)

        asyncio.run(app(scope(method, path, qs, body), receive, send))
        return sent

    def call() -> object:
        sent: list[dict] = []

        async def send(m: dict) -> None:
            sent.append(m)

        coro = app(scope(method, path, qs, body), receive, send)
        try:
            coro.send(None)
        except StopIteration:
            pass
        else:
            coro.close()
            raise RuntimeError(f"{app!r} waited for something: this driver cannot run it")
        assert sent[0]["status"] < 300, sent
        return sent

    assert once()[0]["status"] < 300
    return call


def wsgi_call(app: Any, method: str, path: str, qs: str, body: bytes) -> Callable[[], object]:
    def call() -> object:
        status = []
        out = app(environ(method, path, qs, body), lambda s, h: status.append(s))
        assert status[0].startswith("2"), status
        return out

    return call


def _round(call: Callable[[], object], seconds: float) -> float:
    """µs per call over one round of about ``seconds``."""
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            call()
        n += 100
        now = time.perf_counter()
        if now >= deadline:
            return (now - start) / n * 1e6


def measure(call: Callable[[], object], seconds: float) -> float:
    """Median µs per call over 5 rounds."""
    return measure_side_by_side({"": call}, seconds)[""]


def measure_side_by_side(calls: dict[str, Callable[[], object]], seconds: float) -> dict[str, float]:
    """Median µs per call of each, over 5 rounds taking turns (so that a busy moment of the
    machine falls on all of them, not on one)."""
    for call in calls.values():
        for _ in range(200):
            call()
    rounds: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(5):
        for label, call in calls.items():
            rounds[label].append(_round(call, seconds / 5))
    return {label: statistics.median(times) for label, times in rounds.items()}


def apps() -> dict[str, Any]:
    """Every application compared, built once (one utilmeta service at a time may exist: the
    process's service is forgotten between builds, as the test suite does)."""
    from benchmarks.apps import _utilmeta, bare_asgi, native_starlette

    built: dict[str, Any] = {"native starlette": native_starlette.app, "hand-written ASGI": bare_asgi.app}
    for label, backend in (
        ("utilmeta starlette", "starlette"),
        ("utilmeta asgi", "asgi"),
        ("utilmeta wsgi", "wsgi"),
        ("utilmeta django", "django"),
    ):
        _clear_service()
        built[label] = _utilmeta.application(f"inprocess_{backend}", backend)
    _clear_service()
    return built


def core_costs(seconds: float) -> None:
    service = UtilMeta(__name__, backend="wsgi", name="bench", api=BenchAPI)
    router = service.router
    app = service.application()
    print(f"{'endpoint':32} {'router µs':>10} {'WSGI µs':>10} {'WSGI calls/s':>13}")
    for name, (method, path, qs, body) in CASES.items():
        headers = Headers({"host": "bench"})
        if body:
            headers = Headers({"host": "bench", "content-type": "application/json", "content-length": str(len(body))})

        def via_router(method=method, path=path, qs=qs, body=body, headers=headers) -> object:
            response = router(Request(method, path, qs, headers, body=body, client_addr="127.0.0.1"))
            assert response.status < 300
            return response

        r_us = measure(via_router, seconds)
        w_us = measure(wsgi_call(app, method, path, qs, body), seconds)
        print(f"{name:32} {r_us:10.2f} {w_us:10.2f} {1e6 / w_us:13,.0f}")


def side_by_side(seconds: float) -> None:
    built = apps()
    kinds = {"utilmeta wsgi": wsgi_call, "utilmeta django": wsgi_call}
    print()
    print("µs per call, in process; ratio = utilmeta ÷ reference (time: lower is faster)")
    print(
        f"{'endpoint':32} {'native star':>11} {'um star':>8} {'ratio':>6}   "
        f"{'hand ASGI':>9} {'um asgi':>8} {'ratio':>6}   {'um wsgi':>8} {'um django':>9}"
    )
    for name, args in CASES.items():
        us = measure_side_by_side(
            {label: kinds.get(label, asgi_call)(app, *args) for label, app in built.items()}, seconds
        )
        star = us["utilmeta starlette"] / us["native starlette"]
        bare = us["utilmeta asgi"] / us["hand-written ASGI"]
        print(
            f"{name:32} {us['native starlette']:11.2f} {us['utilmeta starlette']:8.2f} {star:6.2f}   "
            f"{us['hand-written ASGI']:9.2f} {us['utilmeta asgi']:8.2f} {bare:6.2f}   "
            f"{us['utilmeta wsgi']:8.2f} {us['utilmeta django']:9.2f}"
        )
    print("targets: um star ÷ native star ≤ 1.00, um asgi ÷ hand ASGI ≤ 1.30")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()
    core_costs(args.seconds)
    _clear_service()
    side_by_side(args.seconds)


if __name__ == "__main__":
    main()
