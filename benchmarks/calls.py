"""In-process calls/s of one app, and its import time (no server, no socket).

    python -m benchmarks.calls benchmarks.apps.native_flask:app wsgi [--seconds 0.6] [--import-only]

Prints one JSON object. WSGI apps are called with a prepared environ; ASGI apps (Sanic's too, in
its ASGI mode) are driven with a prepared scope, ``receive`` and ``send`` on one uvloop event
loop, after the lifespan startup; Tornado apps get each request as Tornado's HTTP server hands it
over (``app.start_request`` → headers, body, finish) with an in-memory connection. The import
time is from importing the app's module to the first answer, in this fresh process.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import sys
import time
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from benchmarks.checks import ENDPOINTS, Probe, verify

if TYPE_CHECKING:
    # not imported at run time before the app is: the import time of a WSGI app must include
    # its own asyncio import, if it makes one
    import asyncio

__all__ = ["Answer", "WSGIDriver", "ASGIDriver", "TornadoDriver", "DRIVERS", "measure"]

#: status, Content-Type, body
Answer = tuple[int, str | None, bytes]

HOST = "bench.local"


class WSGIDriver:
    def __init__(self, app: Any):
        self.app = app
        self.environs = {probe.key: self._environ(probe) for probe in ENDPOINTS}

    @staticmethod
    def _environ(probe: Probe) -> dict[str, Any]:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": probe.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": probe.path,
            "QUERY_STRING": probe.query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "50000",
            "HTTP_HOST": HOST,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in probe.headers.items():
            environ[f"HTTP_{name.upper().replace('-', '_')}"] = value
        if probe.body:
            environ["CONTENT_TYPE"] = probe.headers["Content-Type"]
            environ["CONTENT_LENGTH"] = str(len(probe.body))
        return environ

    def call(self, probe: Probe) -> Answer:
        environ = self.environs.get(probe.key) or self._environ(probe)
        environ = {**environ, "wsgi.input": io.BytesIO(probe.body)}
        started: list[Any] = []
        result = self.app(environ, lambda status, headers, exc_info=None: started.extend((status, headers)))
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = started
        content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
        return int(status.split()[0]), content_type, body

    def run(self, probe: Probe, n: int) -> None:
        call = self.call
        for _ in range(n):
            call(probe)

    def close(self) -> None:
        pass


def _new_loop(uvloop: bool) -> asyncio.AbstractEventLoop:
    import asyncio

    if uvloop:
        try:
            import uvloop as _uvloop

            return _uvloop.new_event_loop()
        except ImportError:
            pass
    return asyncio.new_event_loop()


class _AsyncDriver:
    uvloop = True

    def __init__(self, app: Any):
        self.app = app
        import asyncio

        self.loop = _new_loop(self.uvloop)
        asyncio.set_event_loop(self.loop)

    async def acall(self, probe: Probe) -> Answer:
        raise NotImplementedError

    def call(self, probe: Probe) -> Answer:
        return self.loop.run_until_complete(self.acall(probe))

    def close(self) -> None:
        self.loop.close()

    def run(self, probe: Probe, n: int) -> None:
        async def batch() -> None:
            acall = self.acall
            for _ in range(n):
                await acall(probe)

        self.loop.run_until_complete(batch())


class ASGIDriver(_AsyncDriver):
    def __init__(self, app: Any):
        super().__init__(app)
        self.state: dict[str, Any] = {}
        self.scopes = {probe.key: self._scope(probe) for probe in ENDPOINTS}
        self.loop.run_until_complete(self._startup())

    async def _startup(self) -> None:
        """Send ``lifespan.startup`` and wait for the answer (or for the app to refuse the
        lifespan protocol, as Django does)."""
        import asyncio

        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        inbox = self._inbox
        inbox.put_nowait({"type": "lifespan.startup"})
        started: asyncio.Future[str] = self.loop.create_future()

        async def send(message: dict[str, Any]) -> None:
            if message["type"].startswith("lifespan.startup") and not started.done():
                started.set_result(message["type"])

        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        self._lifespan = self.loop.create_task(self.app(scope, inbox.get, send))
        done, _ = await asyncio.wait({self._lifespan, started}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if started in done and started.result() != "lifespan.startup.complete":
            raise RuntimeError(f"the app's lifespan startup failed: {started.result()}")
        if self._lifespan in done:
            self._lifespan.exception()  # lifespan not supported: retrieved, ignored

    def close(self) -> None:
        import asyncio

        if not self._lifespan.done():
            self._inbox.put_nowait({"type": "lifespan.shutdown"})
            self.loop.run_until_complete(asyncio.wait({self._lifespan}, timeout=10))
        super().close()

    @staticmethod
    def _scope(probe: Probe) -> dict[str, Any]:
        headers = [(b"host", HOST.encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in probe.headers.items()]
        if probe.body:
            headers.append((b"content-length", str(len(probe.body)).encode()))
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": probe.method,
            "scheme": "http",
            "path": probe.path,
            "raw_path": probe.path.encode(),
            "query_string": probe.query.encode(),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }

    async def acall(self, probe: Probe) -> Answer:
        template = self.scopes.get(probe.key) or self._scope(probe)
        scope = {**template, "headers": list(template["headers"]), "state": dict(self.state)}
        request: dict[str, Any] | None = {"type": "http.request", "body": probe.body, "more_body": False}
        finished: asyncio.Future[None] = self.loop.create_future()
        status = 0
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal request
            if request is not None:
                message, request = request, None
                return message
            await finished
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", [])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body") and not finished.done():
                    finished.set_result(None)

        await self.app(scope, receive, send)
        content_type = next((v.decode("latin-1") for k, v in headers if k.lower() == b"content-type"), None)
        return status, content_type, b"".join(chunks)


class _TornadoConnection:
    """What a Tornado handler writes its response to, in memory."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.context = SimpleNamespace(remote_ip="127.0.0.1", protocol="http")
        self.status = 0
        self.content_type: str | None = None
        self.chunks: list[bytes] = []
        self.finished = loop.create_future()

    def _done(self) -> asyncio.Future[None]:
        future = self.loop.create_future()
        future.set_result(None)
        return future

    def set_close_callback(self, callback: Callable[[], None] | None) -> None:
        pass

    def write_headers(self, start_line: Any, headers: Any, chunk: bytes | None = None) -> Awaitable[None]:
        self.status = start_line.code
        self.content_type = headers.get("Content-Type")
        if chunk:
            self.chunks.append(chunk)
        return self._done()

    def write(self, chunk: bytes) -> Awaitable[None]:
        self.chunks.append(chunk)
        return self._done()

    def finish(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)


class TornadoDriver(_AsyncDriver):
    uvloop = False  # as served: Tornado's own server on its default asyncio loop

    async def acall(self, probe: Probe) -> Answer:
        from tornado.httputil import HTTPHeaders, RequestStartLine

        connection = _TornadoConnection(self.loop)
        delegate = self.app.start_request(None, connection)
        headers = HTTPHeaders({"Host": HOST, **probe.headers})
        if probe.body:
            headers["Content-Length"] = str(len(probe.body))
        pending = delegate.headers_received(RequestStartLine(probe.method, probe.url_path, "HTTP/1.1"), headers)
        if pending is not None:
            await pending
        if probe.body:
            pending = delegate.data_received(probe.body)
            if pending is not None:
                await pending
        delegate.finish()
        await connection.finished
        return connection.status, connection.content_type, b"".join(connection.chunks)


DRIVERS: dict[str, Callable[[Any], WSGIDriver | _AsyncDriver]] = {
    "wsgi": WSGIDriver,
    "asgi": ASGIDriver,
    "sanic": ASGIDriver,
    "tornado": TornadoDriver,
}


ROUNDS = 5


def _calls_per_s(driver: WSGIDriver | _AsyncDriver, probe: Probe, seconds: float) -> float:
    """The fastest of :data:`ROUNDS` rounds of ``seconds / ROUNDS``: other processes can only slow
    a round down, so the best one is the closest to the code's own cost (as ``timeit`` does)."""
    driver.run(probe, 50)
    rates = []
    for _ in range(ROUNDS):
        n = 0
        start = time.perf_counter()
        deadline = start + seconds / ROUNDS
        while True:
            driver.run(probe, 50)
            n += 50
            now = time.perf_counter()
            if now >= deadline:
                break
        rates.append(n / (now - start))
    return max(rates)


def _rss_kib() -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def measure(target: str, interface: str, seconds: float, import_only: bool = False) -> dict[str, Any]:
    """Import ``target`` (``module:attribute``), answer the first request, then (unless
    ``import_only``) time each endpoint. Wrong answers are reported, not timed."""
    module_name, _, attr = target.partition(":")
    start = time.perf_counter()
    app = getattr(importlib.import_module(module_name), attr or "app")
    driver = DRIVERS[interface](app)
    try:
        return _measure(driver, start, import_only, seconds)
    finally:
        driver.close()


def _measure(driver: WSGIDriver | _AsyncDriver, start: float, import_only: bool, seconds: float) -> dict[str, Any]:
    first = ENDPOINTS[0]
    problem = verify(first, *driver.call(first))
    result: dict[str, Any] = {"import_ms": (time.perf_counter() - start) * 1e3, "rss_kib": _rss_kib()}
    if problem:
        result["error"] = problem
        return result
    if import_only:
        return result
    rates: dict[str, float] = {}
    for probe in ENDPOINTS:
        problem = verify(probe, *driver.call(probe))
        if problem:
            result["error"] = problem
            return result
        rates[probe.key] = _calls_per_s(driver, probe, seconds)
    result["calls_per_s"] = rates
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", help="module:attribute of the app")
    parser.add_argument("interface", choices=sorted(DRIVERS))
    parser.add_argument("--seconds", type=float, default=0.6, help="timing per endpoint")
    parser.add_argument("--import-only", action="store_true", help="only the import time")
    args = parser.parse_args()
    print(json.dumps(measure(args.target, args.interface, args.seconds, args.import_only)))


if __name__ == "__main__":
    main()
