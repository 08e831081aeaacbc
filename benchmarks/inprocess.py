"""Per-request cost of the core, in process (no server, no socket).

    python benchmarks/inprocess.py [--seconds 1.0]

Measures the three benchmark endpoints through (a) the router directly and (b) the bare WSGI
callable (environ → core request → router → WSGI response), and prints µs per call and calls/s.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from core_app import BenchAPI

from utilmeta import UtilMeta
from utilmeta.core.request import Request
from utilmeta.core.request.request import Headers

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


def measure(call: Callable[[], object], seconds: float) -> float:
    """Median µs per call over 5 rounds."""
    for _ in range(200):
        call()
    rounds = []
    for _ in range(5):
        n = 0
        start = time.perf_counter()
        deadline = start + seconds / 5
        while True:
            for _ in range(100):
                call()
            n += 100
            now = time.perf_counter()
            if now >= deadline:
                break
        rounds.append((now - start) / n * 1e6)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()
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

        def via_wsgi(method=method, path=path, qs=qs, body=body) -> object:
            status = []
            out = app(environ(method, path, qs, body), lambda s, h: status.append(s))
            assert status[0].startswith("2")
            return out

        r_us = measure(via_router, args.seconds)
        w_us = measure(via_wsgi, args.seconds)
        print(f"{name:32} {r_us:10.2f} {w_us:10.2f} {1e6 / w_us:13,.0f}")


if __name__ == "__main__":
    main()
