"""The tornado backend through Tornado itself: its HTTP server on the test's loop, and real
processes started by ``service.run()``."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

tornado = pytest.importorskip("tornado")

from netutil import free_port  # noqa: E402
from tornado.httpserver import HTTPServer  # noqa: E402
from tornado.netutil import bind_sockets  # noqa: E402
from tornado.web import Application, RequestHandler  # noqa: E402

from utilmeta import UtilMeta  # noqa: E402
from utilmeta.conf import Preference  # noqa: E402
from utilmeta.core import api, request, response  # noqa: E402
from utilmeta.core.file import File  # noqa: E402
from utilmeta.core.request.multipart import encode_multipart  # noqa: E402
from utilmeta.core.server.backends.tornado import TornadoServerAdaptor  # noqa: E402
from utilmeta.testing import AsyncTestClient  # noqa: E402
from utilmeta.utils.exceptions import SetupError  # noqa: E402

MiB = 1024 * 1024


class RootAPI(api.API):
    @api.get
    def hello(self) -> str:
        return "world"

    @api.get
    async def ahello(self) -> dict:
        await asyncio.sleep(0)
        return {"async": True}

    @api.get("items/{id}")
    def item(self, id: int) -> dict:
        return {"id": id}

    @api.post
    def echo(self, data: dict = request.Body) -> dict:
        return data

    @api.post
    def upload(self, file: File = request.BodyParam) -> int:
        return file.size

    @api.get
    def ip(self) -> str:
        return self.request.ip_address

    @api.get
    def nothing(self) -> None:
        return None

    @api.get
    def headers(
        self,
        token: str = request.HeaderParam("X-Token"),
        session: str = request.CookieParam(default=""),
    ) -> dict:
        return {"token": token, "session": session}

    @api.get
    def cookies(self) -> response.Response:
        r = response.Response("ok", headers={"X-Custom": "1"})
        r.set_cookie("a", "1")
        r.set_cookie("b", "2")
        return r

    @api.get
    def teapot(self) -> response.Response:
        return response.Response("odd", status=599)

    @api.get
    def blocking(self) -> str:
        time.sleep(0.3)
        return "done"

    @api.get
    def fail(self) -> str:
        raise ValueError("boom")


def make_service(backend: Any = "tornado", **kwargs: Any) -> UtilMeta:
    kwargs.setdefault("name", "tornado-test")
    return UtilMeta(__name__, backend=backend, api=RootAPI, route="/api", **kwargs)


@asynccontextmanager
async def served(service: UtilMeta, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The service's app behind Tornado's HTTP server on a free loopback port of this loop."""
    app = service.application()
    server = HTTPServer(app, **options)
    sockets = bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        server.stop()
        await server.close_all_connections()
        await service.ashutdown()  # else the hooks would run at interpreter exit


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


# -- the adaptor ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", [tornado, "tornado"])
def test_backend_by_module_or_name(backend):
    service = make_service(backend)
    assert isinstance(service.adaptor, TornadoServerAdaptor)
    assert service.asynchronous and service.port == 8000
    app = service.application()
    assert isinstance(app, Application)
    assert service.application() is app
    assert app.settings["debug"] is True and app.settings["autoreload"] is False


def test_backend_by_instance_keeps_the_app():
    app = Application()
    service = make_service(app)
    assert isinstance(service.adaptor, TornadoServerAdaptor)
    rules = len(app.default_router.rules)
    assert service.application() is app
    assert service.application() is app and len(app.default_router.rules) == rules + 1  # added once


def test_production_turns_debug_off():
    assert make_service(production=True).application().settings["debug"] is False


class SyncAPI(api.API):
    @api.get
    def hello(self) -> str:
        return "sync"


async def test_a_sync_service_is_served_too():
    service = UtilMeta(__name__, backend="tornado", name="sync", api=SyncAPI, asynchronous=False)
    assert not service.asynchronous
    async with served(service) as c:
        assert (await c.get("/hello")).text == "sync"


# -- through Tornado's HTTP server ------------------------------------------------------------

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/hello", {}),
    ("GET", "/hello", {}),  # without the root route (strict_root_route=False)
    ("GET", "/api/hello/", {}),
    ("HEAD", "/api/hello", {}),
    ("OPTIONS", "/api/hello", {}),
    ("DELETE", "/api/hello", {}),
    ("PROPFIND", "/api/hello", {}),  # not a method Tornado knows: still the core's 405
    ("GET", "/api/missing", {}),
    ("GET", "/", {}),
    ("GET", "/api/items/7", {}),
    ("GET", "/api/items/x", {}),
    ("GET", "/api/it%65ms/8", {}),
    ("GET", "/api/fail", {}),
    ("GET", "/api/nothing", {}),
    ("GET", "/api/headers", {"headers": {"x-token": "t", "cookie": "session=s; other=o"}}),
    ("GET", "/api/headers", {}),
    ("GET", "/api/cookies", {}),
    ("GET", "/api/teapot", {}),
    ("POST", "/api/echo", {"json": {"a": [1, 2]}}),
    ("POST", "/api/echo", {"content": b"{bad", "headers": {"content-type": "application/json"}}),
    ("POST", "/api/echo", {"content": b"a=1", "headers": {"content-type": "text/csv"}}),
    (
        "POST",
        "/api/upload",
        {"content": b"--zz\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=zz"}},
    ),
]


async def test_responses_are_the_cores():
    service = make_service()
    core = AsyncTestClient(service)
    async with served(service) as c:
        for method, path, kwargs in CASES:
            headers = {"x-request-id": "fixed-id", **kwargs.pop("headers", {})}
            got = await c.request(method, path, headers=headers, **kwargs)
            want = await core.request(method, path, headers=headers, **kwargs)
            where = f"{method} {path}"
            assert got.status_code == want.status_code, where
            assert got.content == want.content, where
            names = ["content-type", "allow", "x-request-id", "x-custom", "set-cookie"]
            if got.status_code != 204:  # no Content-Length on a 204 (the test client adds one)
                names.append("content-length")
            for name in names:
                assert got.headers.get(name) == want.headers.get(name), (where, name)
            assert "etag" not in got.headers, where


async def _exchange(port: int, requests: list[bytes]) -> list[bytes]:
    """The raw answers to ``requests`` sent in turn on one kept-alive connection (Date and
    X-Request-Id blanked)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answers = []
    try:
        for raw in requests:
            writer.write(raw)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")  # fails if the server closed the connection
            found = re.search(rb"Content-Length: (\d+)", head)
            size = int(found.group(1)) if found and not raw.startswith(b"HEAD") else 0
            body = await reader.readexactly(size)
            answers.append(re.sub(rb"(Date|X-Request-Id): [^\r]*", rb"\1: -", head) + body)
    finally:
        writer.close()
    return answers


async def test_raw_answers_and_keep_alive_as_with_a_request_handler():
    # the app the adaptor makes answers API requests without a RequestHandler; an injected app
    # answers them with one: the bytes on the wire are the same, and connections stay open
    json_body = b'{"a": 1}'
    requests = [
        b"GET /api/hello HTTP/1.1\r\nHost: t\r\n\r\n",
        b"HEAD /api/hello HTTP/1.1\r\nHost: t\r\n\r\n",
        b"POST /api/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(json_body), json_body),
        b"GET /api/items/x HTTP/1.1\r\nHost: t\r\n\r\n",
        b"DELETE /api/hello HTTP/1.1\r\nHost: t\r\n\r\n",
        b"OPTIONS /api/hello HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /api/cookies HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /api/teapot HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /api/nothing HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /api/fail HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n",
    ]
    answers = []
    for backend in ("tornado", Application()):
        async with served(make_service(backend, production=True)) as c:
            answers.append(await _exchange(c.base_url.port or 0, requests))
    own, injected = answers
    assert own == injected
    assert own[0].startswith(b"HTTP/1.1 200 OK\r\nServer: TornadoServer\r\n") and own[0].endswith(b"world")


async def test_no_etag_and_no_304():
    async with served(make_service()) as c:
        r = await c.get("/api/hello", headers={"if-none-match": "*"})
        assert r.status_code == 200 and r.text == "world" and "etag" not in r.headers
        r = await c.get("/api/teapot")
        assert r.status_code == 599 and r.text == "odd"


async def test_async_endpoints_and_cookies():
    async with served(make_service()) as c:
        assert (await c.get("/api/ahello")).json() == {"async": True}
        r = await c.get("/api/cookies")
        assert [v.split(";")[0] for v in r.headers.get_list("set-cookie")] == ["a=1", "b=2"]
        assert "content-type" not in (await c.get("/api/nothing")).headers


async def test_uploads_and_the_body_limit():
    service = make_service()
    service.use(Preference(max_body_size=1 * MiB))
    core = AsyncTestClient(service)
    async with served(service) as c:
        assert (await c.post("/api/upload", files={"file": ("a.bin", b"x" * 1000)})).json() == 1000
        body, ctype = encode_multipart(None, {"file": ("big.bin", b"x" * (2 * MiB))})
        headers = {"x-request-id": "fixed-id", "content-type": ctype}
        got = await c.post("/api/upload", content=body, headers=headers)
        want = await core.request("POST", "/api/upload", content=body, headers=headers)
        assert got.status_code == want.status_code == 413
        assert got.content == want.content
        chunked = await c.post("/api/upload", content=chunks(body[:MiB], body[MiB:]), headers=headers)
        assert chunked.status_code == 413  # no Content-Length: refused once over the limit
        assert (await c.get("/api/hello")).status_code == 200


async def test_two_mib_upload_and_chunked_bodies():
    async with served(make_service()) as c:
        r = await c.post("/api/upload", files={"file": ("big.bin", b"x" * (2 * MiB))})
        assert r.status_code == 200 and r.json() == 2 * MiB
        parts = chunks(b'{"b":', b" 2}")  # no Content-Length
        r = await c.post("/api/echo", content=parts, headers={"content-type": "application/json"})
        assert r.json() == {"b": 2}


async def test_client_ip_behind_a_trusted_proxy():
    async with served(make_service()) as c:
        r = await c.get("/api/ip", headers={"x-forwarded-for": "203.0.113.9, 127.0.0.1"})
        assert r.text == "203.0.113.9"
        assert (await c.get("/api/ip")).text == "127.0.0.1"


async def test_client_ip_from_an_untrusted_peer():
    service = make_service()
    service.use(Preference(trusted_proxies=["10.0.0.1"]))
    async with served(service) as c:
        assert (await c.get("/api/ip", headers={"x-forwarded-for": "203.0.113.9"})).text == "127.0.0.1"


async def test_sync_endpoints_do_not_block_the_loop():
    async with served(make_service()) as c:
        await c.get("/api/blocking")  # warm the thread pool
        started = time.perf_counter()
        results = await asyncio.gather(c.get("/api/blocking"), c.get("/api/blocking"))
        assert [r.text for r in results] == ["done", "done"]
        assert time.perf_counter() - started < 0.55


class NativeHandler(RequestHandler):
    def get(self) -> None:
        self.write("native")

    def post(self) -> None:
        self.write("posted")


@pytest.mark.parametrize("strict", [False, True])
async def test_injected_app_keeps_its_routes(strict: bool):
    app = Application([(r"/native", NativeHandler), (r"/hello", NativeHandler)], xsrf_cookies=True)
    service = make_service(app)
    service.use(Preference(strict_root_route=strict))
    assert service.application() is app
    async with served(service) as c:
        assert (await c.get("/native")).text == "native"
        assert (await c.post("/native")).status_code == 403  # the app's own xsrf policy
        assert (await c.get("/api/hello")).text == "world"
        assert (await c.post("/api/echo", json={"x": 1})).json() == {"x": 1}  # not the API's policy
        # /hello is an API path unless the root route is strict: then the app's own handler
        assert (await c.get("/hello")).text == ("native" if strict else "world")
        missing = await c.get("/elsewhere")  # the core's 404, as on every backend
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"


async def test_injected_app_keeps_its_own_404():
    class Missing(RequestHandler):
        def prepare(self) -> None:
            self.set_status(404)
            self.finish("app's own")

    app = Application([(r"/native", NativeHandler)], default_handler_class=Missing)
    async with served(make_service(app)) as c:
        assert (await c.get("/elsewhere")).text == "app's own"
        assert (await c.get("/api/hello")).text == "world"


def legacy_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{environ['SCRIPT_NAME']}|{environ['PATH_INFO']}".encode()]


@pytest.mark.parametrize("injected", [False, True])
async def test_mounted_wsgi_app(injected: bool):
    service = make_service(Application() if injected else "tornado")
    service.mount(legacy_wsgi, "/legacy")
    async with served(service) as c:
        assert (await c.get("/legacy/a/b")).text == "/legacy|/a/b"
        assert (await c.get("/legacy")).text == "/legacy|"
        assert (await c.get("/api/hello")).text == "world"
        assert (await c.get("/legacyx")).status_code == 404  # the core's


def test_mounted_asgi_app_is_refused():
    async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
        pass

    service = make_service()
    with pytest.raises(SetupError, match="WSGI apps only"):
        service.mount(asgi_app, "/asgi")  # refused at once, not when the app is built


async def test_hooks_run_once_before_the_first_request():
    service = make_service()
    calls: list[str] = []

    @service.on_startup
    async def start() -> None:
        await asyncio.sleep(0.05)
        calls.append("start")

    @service.on_shutdown
    def stop() -> None:
        calls.append("stop")

    async with served(service) as c:
        assert calls == []
        results = await asyncio.gather(c.get("/api/hello"), c.get("/api/ahello"))
        assert [r.status_code for r in results] == [200, 200]
        assert calls == ["start"]
        await c.get("/api/hello")
        assert calls == ["start"]
    assert calls == ["start", "stop"]


# -- real processes started by service.run() --------------------------------------------------

SERVICE_FILE = """
import os
import time

from utilmeta import UtilMeta
from utilmeta.core import api

MARKS = os.environ["MARKS"]


def mark(kind):
    open(os.path.join(MARKS, f"{kind}-{os.getpid()}"), "w").close()


class RootAPI(api.API):
    @api.get
    def hello(self):
        return "world"

    @api.get
    def data(self):
        return {"pid": os.getpid()}

    @api.get
    def slow(self):
        mark("slow")
        time.sleep(0.5)
        return "slow"


service = UtilMeta(__name__, backend="tornado", name="real", api=RootAPI, route="/api",
                   host=os.environ["HOST"], port=int(os.environ["PORT"]))


@service.on_startup
async def started():
    mark("start")


@service.on_shutdown
async def stopped():
    mark("stop")


app = service.application()

if __name__ == "__main__":
    service.run()
"""


def loopback_alias() -> str:
    """127.0.0.2 where the system routes all of 127/8 to loopback (Linux), else 127.0.0.1."""
    try:
        free_port("127.0.0.2")
        return "127.0.0.2"
    except OSError:
        return "127.0.0.1"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_serves_and_stops_gracefully(tmp_path: Path, sig: signal.Signals):
    host = loopback_alias()
    port = free_port(host)
    marks = tmp_path / "marks"
    marks.mkdir()
    script = tmp_path / "server.py"
    script.write_text(SERVICE_FILE)
    out_path = tmp_path / "out.txt"
    env = {**os.environ, "HOST": host, "PORT": str(port), "MARKS": str(marks), "PYTHONUNBUFFERED": "1"}
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(script)],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # signals reach the server only
        )
    url = f"http://{host}:{port}"

    def marked(kind: str) -> list[str]:
        return sorted(p.name for p in marks.iterdir() if p.name.startswith(kind + "-"))

    try:
        deadline = time.monotonic() + 20
        while True:  # the banner is printed once the port listens
            assert proc.poll() is None, out_path.read_text()
            if "UtilMeta service" in out_path.read_text():
                break
            assert time.monotonic() < deadline, out_path.read_text()
            time.sleep(0.02)
        assert marked("start") == [f"start-{proc.pid}"]  # before listening
        r = httpx.get(url + "/api/data")
        assert r.status_code == 200 and r.json() == {"pid": proc.pid}
        assert r.headers["content-type"] == "application/json"
        if host != "127.0.0.1":  # the service's host is honoured
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{port}/api/hello")

        slow: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: slow.update(r=httpx.get(url + "/api/slow", timeout=10)))
        thread.start()
        while not marked("slow"):  # the request is in flight
            assert time.monotonic() < deadline
            time.sleep(0.01)
        proc.send_signal(sig)
        thread.join(10)
        assert slow["r"].status_code == 200 and slow["r"].text == "slow"  # finished, not cut
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = out_path.read_text()
    banners = [line for line in output.splitlines() if line.startswith("UtilMeta service")]
    assert banners == [f"UtilMeta service 'real' on tornado {tornado.version} (async) at {url}/api"]
    assert marked("stop") == [f"stop-{proc.pid}"]
    assert "Traceback" not in output
