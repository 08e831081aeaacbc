"""The starlette backend, through the real framework: in-process over ``httpx.ASGITransport``
(lifespan driven by hand, as the transport sends none) and one real uvicorn server.

:class:`Cases` holds every test; ``test_fastapi.py`` runs them again on a FastAPI app.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, ClassVar

import httpx
import pytest
from netutil import free_port, wait_for_port

from utilmeta import UtilMeta
from utilmeta.conf import Preference
from utilmeta.core import api, request
from utilmeta.core.file import File
from utilmeta.core.response import Response
from utilmeta.testing import AsyncTestClient
from utilmeta.utils import exceptions

# -- the API under test --------------------------------------------------------------------


class ItemAPI(api.API):
    @api.get("{id}")
    def one(self, id: int) -> dict:
        return {"id": id}


class SyncRootAPI(api.API):
    items: ItemAPI

    @api.get
    def hello(self) -> str:
        return "world"

    @api.get
    def slow(self) -> str:
        time.sleep(0.3)  # blocking: must run off the event loop
        return "slept"

    @api.get
    def ip(self) -> str:
        return self.request.ip_address

    @api.post
    def upload(self, file: Annotated[File, request.BodyParam]) -> dict:
        return {"size": len(file.read())}

    @api.post
    def echo(self, data: Annotated[dict, request.Body]) -> dict:
        return data

    @api.get
    def html(self) -> Response:
        r = Response("<p>hi</p>", content_type="text/html")
        r.set_cookie("a", "1")
        r.set_cookie("b", "2", httponly=True)
        return r

    @api.get
    def boom(self) -> None:
        raise ValueError("boom")

    @api.get
    def denied(self) -> None:
        raise exceptions.PermissionDenied("not you")


class RootAPI(SyncRootAPI):
    @api.get
    async def ahello(self) -> str:
        await asyncio.sleep(0)
        return "async world"


MiB = 1024 * 1024
#: the Set-Cookie headers of RootAPI.html, one header each
COOKIES = ["a=1; Path=/; SameSite=lax", "b=2; HttpOnly; Path=/; SameSite=lax"]


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Run the app's ASGI lifespan around the block, as a server would."""
    inbox: asyncio.Queue[dict] = asyncio.Queue()
    outbox: asyncio.Queue[dict] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
        await task


def response_parts(r: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = r.headers.multi_items() if isinstance(r, httpx.Response) else r.header_list
    return r.status_code, sorted((k.lower(), v) for k, v in headers), r.content


# -- the cases -----------------------------------------------------------------------------


class Cases:
    backend: ClassVar[str] = "starlette"

    # overridden by test_fastapi
    def module(self) -> Any:
        import starlette

        return starlette

    def app_class(self) -> type:
        from starlette.applications import Starlette

        return Starlette

    def native_app(self, **kwargs: Any) -> Any:
        """An app with one native route, ``GET /native``."""
        from starlette.applications import Starlette
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        async def native(req: Any) -> Any:
            return PlainTextResponse("native")

        return Starlette(routes=[Route("/native", native)], **kwargs)

    # helpers
    def service(self, backend: Any = None, **kwargs: Any) -> UtilMeta:
        kwargs.setdefault("api", RootAPI)
        kwargs.setdefault("route", "/api")
        return UtilMeta(__name__, backend=backend if backend is not None else self.backend, **kwargs)

    def client(self, app: Any, client: tuple[str, int] = ("127.0.0.1", 123)) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=client)
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    # -- backend= ----------------------------------------------------------------------

    @pytest.mark.parametrize("how", ["module", "name", "instance"])
    async def test_backend_as_module_name_or_instance(self, how: str) -> None:
        given = {"module": self.module(), "name": self.backend, "instance": self.app_class()()}[how]
        service = self.service(given)
        app = service.application()
        assert type(app) is self.app_class()
        if how == "instance":
            assert app is given
        assert service.asynchronous is True and service.port == 8000
        async with self.client(app) as c:
            r = await c.get("/api/hello")
        assert (r.status_code, r.text, r.headers["content-type"]) == (200, "world", "text/plain; charset=utf-8")

    async def test_application_twice_is_the_same_app_wired_once(self) -> None:
        service = self.service()
        app = service.application()
        routes = list(app.routes)
        assert service.application() is app
        assert list(app.routes) == routes

    def test_debug_follows_production(self) -> None:
        assert self.service().application().debug is True

    def test_production_turns_debug_off_even_on_an_injected_app(self) -> None:
        assert self.service(self.app_class()(debug=True), production=True).application().debug is False

    # -- routing -----------------------------------------------------------------------

    async def test_injected_app_keeps_its_routes(self) -> None:
        app = self.service(self.native_app()).application()
        async with self.client(app) as c:
            native, api_ = await c.get("/native"), await c.get("/api/items/3")
        assert (native.status_code, native.text) == (200, "native")
        assert api_.json() == {"id": 3}

    async def test_api_with_and_without_route_prefix(self) -> None:
        app = self.service().application()
        async with self.client(app) as c:
            assert (await c.get("/api/hello")).text == "world"
            assert (await c.get("/hello")).text == "world"  # non-strict root route

    async def test_root_path_is_below_the_mount_point_as_for_starlettes_routes(self) -> None:
        service = self.service()
        transport = httpx.ASGITransport(app=service.application(), root_path="/behind")
        headers = {"X-Request-ID": "req-root"}
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            assert (await c.get("/behind/api/hello")).text == "world"
            assert (await c.get("/behind/api/items/5")).json() == {"id": 5}
            r = await c.get("/behind/api/nope", headers=headers)
        expected = await AsyncTestClient(service).request("GET", "/api/nope", headers=headers)
        assert response_parts(r) == response_parts(expected)

    async def test_strict_root_route(self) -> None:
        service = self.service()
        service.use(Preference(strict_root_route=True))
        async with self.client(service.application()) as c:
            assert (await c.get("/api/hello")).text == "world"
            assert (await c.get("/hello")).status_code == 404

    async def test_unknown_path_gets_the_cores_404(self) -> None:
        service = self.service(self.native_app())
        app = service.application()
        async with self.client(app) as c, AsyncTestClient(service) as core:
            for path in ("/nope", "/api/nope"):
                headers = {"X-Request-ID": "req-404"}
                r, expected = await c.get(path, headers=headers), await core.request("GET", path, headers=headers)
                assert response_parts(r) == response_parts(expected)
                assert r.headers["content-type"] == "application/problem+json"

    async def test_an_app_handling_404_keeps_answering_unknown_paths(self) -> None:
        from starlette.responses import PlainTextResponse

        async def not_found(req: Any, exc: Exception) -> Any:
            return PlainTextResponse("custom 404", status_code=404)

        app = self.service(self.native_app(exception_handlers={404: not_found})).application()
        async with self.client(app) as c:
            assert (await c.get("/nope")).text == "custom 404"
            assert (await c.get("/api/nope")).text == "custom 404"  # no API path either
            assert (await c.get("/api/hello")).text == "world"

    async def test_user_middleware_wraps_api_requests(self) -> None:
        from starlette.middleware import Middleware

        class Tag:
            def __init__(self, app: Any):
                self.app = app

            async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
                async def tagged(message: Any) -> None:
                    if message["type"] == "http.response.start":
                        message["headers"] = [*message["headers"], (b"x-tag", b"yes")]
                    await send(message)

                await self.app(scope, receive, tagged)

        app = self.service(self.native_app(middleware=[Middleware(Tag)])).application()
        async with self.client(app) as c:
            assert (await c.get("/api/hello")).headers["x-tag"] == "yes"
            assert (await c.get("/native")).headers["x-tag"] == "yes"

    async def test_middleware_added_after_application_still_wraps_the_api(self) -> None:
        from starlette.middleware.gzip import GZipMiddleware

        service = self.service()
        app = service.application()
        app.add_middleware(GZipMiddleware, minimum_size=1)
        async with self.client(app) as c:
            r = await c.get("/api/hello", headers={"accept-encoding": "gzip"})
        assert (r.text, r.headers["content-encoding"]) == ("world", "gzip")

    async def test_mounted_asgi_app(self) -> None:
        async def legacy(scope: Any, receive: Any, send: Any) -> None:
            body = f"{scope['root_path']}|{scope['path']}".encode()
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": body})

        service = self.service()
        service.mount(legacy, "/legacy")
        async with self.client(service.application()) as c:
            r = await c.get("/legacy/a/b")
            assert (r.status_code, r.text) == (200, "/legacy|/legacy/a/b")
            assert (await c.get("/api/hello")).text == "world"

    # -- the core answers, byte for byte -------------------------------------------------

    @pytest.mark.parametrize(
        "method, path",
        [
            ("GET", "/api/hello"),
            ("HEAD", "/api/hello"),
            ("OPTIONS", "/api/hello"),
            ("DELETE", "/api/hello"),
            ("GET", "/api/items/abc"),
            ("GET", "/api/boom"),
            ("GET", "/api/denied"),
            ("GET", "/api/html"),
            ("POST", "/api/echo"),
        ],
    )
    async def test_responses_equal_the_cores(self, method: str, path: str) -> None:
        service = self.service()
        app = service.application()
        kwargs: dict[str, Any] = {"headers": {"X-Request-ID": "req-1"}}
        if method == "POST":
            kwargs["json"] = {"a": [1, 2]}
        async with self.client(app) as c, AsyncTestClient(service) as core:
            r = await c.request(method, path, **kwargs)
            expected = await core.request(method, path, **kwargs)
        assert response_parts(r) == response_parts(expected)
        if method == "DELETE":
            assert (r.status_code, r.headers["allow"]) == (405, "GET, HEAD, OPTIONS")
        if path == "/api/html":
            assert r.headers["content-type"] == "text/html"
            assert r.headers.get_list("set-cookie") == [
                "a=1; Path=/; SameSite=lax",
                "b=2; HttpOnly; Path=/; SameSite=lax",
            ]

    async def test_a_2_mib_upload_and_the_body_limit(self) -> None:
        service = self.service()
        service.use(Preference(max_body_size=3 * MiB))
        async with self.client(service.application()) as c:
            r = await c.post("/api/upload", files={"file": ("a.bin", b"x" * (2 * MiB))})
            assert r.json() == {"size": 2 * MiB}
            r = await c.post("/api/upload", files={"file": ("a.bin", b"x" * (4 * MiB))})
            assert r.status_code == 413

    async def test_client_ip_from_x_forwarded_for_behind_a_trusted_proxy(self) -> None:
        app = self.service().application()
        headers = {"X-Forwarded-For": "203.0.113.9, 127.0.0.1"}
        async with self.client(app) as c:
            assert (await c.get("/api/ip", headers=headers)).text == "203.0.113.9"
        async with self.client(app, client=("10.1.2.3", 5)) as c:
            assert (await c.get("/api/ip", headers=headers)).text == "10.1.2.3"

    # -- async -------------------------------------------------------------------------

    async def test_async_endpoint(self) -> None:
        async with self.client(self.service().application()) as c:
            assert (await c.get("/api/ahello")).text == "async world"

    async def test_sync_endpoints_do_not_block_the_loop(self) -> None:
        async with self.client(self.service().application()) as c:
            start = time.perf_counter()
            await c.get("/api/slow")
            one = time.perf_counter() - start
            start = time.perf_counter()
            a, b = await asyncio.gather(c.get("/api/slow"), c.get("/api/slow"))
            two = time.perf_counter() - start
        assert a.text == b.text == "slept"
        assert two < 1.6 * one

    async def test_a_synchronous_service_runs_its_endpoints_off_the_loop(self) -> None:
        events: list[str] = []
        service = self.service(api=SyncRootAPI, asynchronous=False)
        service.on_startup(lambda: events.append("start"))
        app = service.application()
        async with lifespan(app), self.client(app) as c:
            a, b = await asyncio.gather(c.get("/api/slow"), c.get("/api/hello"))
        assert (a.text, b.text, events) == ("slept", "world", ["start"])

    # -- lifespan ----------------------------------------------------------------------

    async def test_hooks_run_once_through_the_lifespan(self) -> None:
        events: list[str] = []
        service = self.service()

        @service.on_startup
        async def start() -> None:
            events.append("start")

        @service.on_shutdown
        def stop() -> None:
            events.append("stop")

        app = service.application()
        async with lifespan(app):
            assert events == ["start"]
            async with self.client(app) as c:
                assert (await c.get("/api/hello")).text == "world"
        assert events == ["start", "stop"]

    async def test_hooks_wrap_the_injected_apps_own_lifespan(self) -> None:
        events: list[str] = []

        @asynccontextmanager
        async def own(app: Any) -> AsyncIterator[None]:
            events.append("app start")
            yield
            events.append("app stop")

        service = self.service(self.native_app(lifespan=own))
        service.on_startup(lambda: events.append("start"))
        service.on_shutdown(lambda: events.append("stop"))
        async with lifespan(service.application()):
            assert events == ["start", "app start"]
        assert events == ["start", "app start", "app stop", "stop"]

    # -- a real server -----------------------------------------------------------------

    def test_run_serves_with_uvicorn_and_stops_on_sigterm(self, tmp_path: Path) -> None:
        check_real_server(tmp_path, self.backend, f"import {self.backend}", self.backend)


SERVER = """
import os
{imports}
from utilmeta import UtilMeta
from utilmeta.core import api

MARK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hooks.txt")


class RootAPI(api.API):
    @api.get
    def hello(self) -> str:
        return "world"


service = UtilMeta(__name__, name="demo", backend={backend}, api=RootAPI, route="/api", port={port}{extra})


@service.on_startup
def start():
    with open(MARK, "a") as f:
        f.write("start\\n")


@service.on_shutdown
def stop():
    with open(MARK, "a") as f:
        f.write("stop\\n")


app = service.application()

if __name__ == "__main__":
    service.run({run_args})
"""


def wait_for(condition: Callable[[], bool], deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def check_real_server(
    tmp_path: Path,
    backend: str,
    imports: str,
    backend_expr: str,
    extra: str = "",
    request: Callable[[int], None] | None = None,
    workers: int = 1,
) -> None:
    """Start ``service.run()`` in a subprocess; check banner, a request, hooks and SIGTERM."""
    port = free_port()
    script = tmp_path / "server.py"
    script.write_text(
        textwrap.dedent(SERVER).format(
            imports=imports,
            backend=backend_expr,
            port=port,
            extra=extra,
            run_args=f"workers={workers}" if workers > 1 else "",
        )
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_for_port(port, proc)
        r = httpx.get(f"http://127.0.0.1:{port}/api/hello", timeout=5)
        assert (r.status_code, r.text) == (200, "world")
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        if request is not None:
            request(port)
        wait_for(lambda: (tmp_path / "hooks.txt").read_text() == "start\n" * workers)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    banners = [line for line in out.splitlines() if line.startswith("UtilMeta service")]
    assert banners == [
        f"UtilMeta service 'demo' on {backend} {_version(backend)} "
        f"({'sync' if backend == 'flask' and 'asynchronous' not in extra else 'async'}) "
        f"at http://127.0.0.1:{port}/api"
    ], (out, err)
    assert (tmp_path / "hooks.txt").read_text() == "start\n" * workers + "stop\n" * workers, (out, err)


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


class TestStarlette(Cases):
    pass


def test_run_with_workers_runs_hooks_in_each_worker(tmp_path: Path) -> None:
    # uvicorn needs "module:app" for workers: run() finds it, even for a script run as __main__
    check_real_server(tmp_path, "starlette", "import starlette", "starlette", workers=2)
