"""The django backend, through the real framework: in-process over ``httpx.WSGITransport`` /
``httpx.ASGITransport`` (lifespan driven by hand), and real servers started by ``service.run()``
(Django's runserver, uvicorn) and by Gunicorn.

Django's settings can be configured once per process: the in-process tests share one
configuration (made by the first service that sets Django up); everything that depends on
settings of its own runs in a subprocess.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import httpx
import pytest
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpResponse
from django.urls import path

from utilmeta import UtilMeta
from utilmeta.conf import Preference
from utilmeta.core.server.backends.django import DjangoServerAdaptor
from utilmeta.core.server.backends.django.adaptor import DefaultDjangoSettings
from utilmeta.core.server.backends.django.settings import DEFAULT_MIDDLEWARE, URLCONF
from utilmeta.core.server.service import _clear_service
from utilmeta.testing import AsyncTestClient, TestClient
from utilmeta.utils.exceptions import SetupError

from .test_starlette import MiB, RootAPI, SyncRootAPI, free_port, lifespan, response_parts, wait_for, wait_for_port

#: a module with no URL patterns: the core answers every path
BARE = "djtest_bare_service"


@pytest.fixture(scope="module", autouse=True)
def django_ready() -> Iterator[None]:
    """Set Django up once (if no earlier test did) and pin the settings these tests rely on."""
    from django.conf import settings

    if not settings.configured:
        _clear_service()
        UtilMeta("djtest_boot", backend="django").setup()
        _clear_service()
    from django.test.utils import override_settings

    with override_settings(ROOT_URLCONF=URLCONF, ALLOWED_HOSTS=["*"], MIDDLEWARE=DEFAULT_MIDDLEWARE):
        yield


def native_view(request: Any) -> HttpResponse:
    return HttpResponse(f"native {request.method}", content_type="text/plain")


# the project's own Django URLs, served beside the API for services created with __name__
urlpatterns = [path("native", native_view)]


def service(backend: Any = "django", module: str = BARE, **kwargs: Any) -> UtilMeta:
    kwargs.setdefault("api", RootAPI if kwargs.get("asynchronous") else SyncRootAPI)
    kwargs.setdefault("route", "/api")
    return UtilMeta(module, backend=backend, **kwargs)


def client(app: Any, remote_addr: str = "127.0.0.1") -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app, remote_addr=remote_addr), base_url="http://testserver")


def aclient(app: Any, client_addr: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(client_addr, 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


# -- backend= ------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["module", "name", "instance"])
def test_backend_as_module_name_or_instance(how: str) -> None:
    given = {"module": django, "name": "django", "instance": WSGIHandler()}[how]
    s = service(given)
    assert isinstance(s.adaptor, DjangoServerAdaptor)
    assert (s.asynchronous, s.port) == (False, 8000)
    app = s.application()
    assert isinstance(app, WSGIHandler)
    if how == "instance":
        assert app is given
    r = client(app).get("/api/hello")
    assert (r.status_code, r.text, r.headers["content-type"]) == (200, "world", "text/plain; charset=utf-8")


def test_asynchronous_gives_an_asgi_handler() -> None:
    app = service(asynchronous=True).application()
    assert isinstance(app, ASGIHandler) and not isinstance(app, WSGIHandler)


async def test_an_injected_asgi_handler() -> None:
    given = ASGIHandler()
    app = service(given, asynchronous=True).application()
    assert app is given
    async with aclient(app) as c:
        assert (await c.get("/api/ahello")).text == "async world"


def test_handler_kind_must_match_the_service() -> None:
    with pytest.raises(SetupError, match="asynchronous=True"):
        service(ASGIHandler()).application()
    _clear_service()
    with pytest.raises(SetupError, match="WSGIHandler but the service is asynchronous"):
        service(WSGIHandler(), asynchronous=True).application()


def test_application_twice_is_the_same_handler() -> None:
    s = service()
    app = s.application()
    assert s.application() is app
    assert client(app).get("/api/hello").text == "world"


def test_a_default_django_settings_stands_in() -> None:
    s = service()
    assert isinstance(s.configs[DefaultDjangoSettings], DefaultDjangoSettings)
    s.setup()  # Django is set up (here: already) without any DjangoSettings
    from django.apps import apps

    assert apps.ready


def test_wsgi_application_setting_points_at_the_service() -> None:
    from utilmeta.core.server.backends.django import handlers

    s = service()
    assert handlers.application is s.application()  # Django's own runserver would serve it


def test_async_endpoint_in_a_sync_service_is_a_setup_error() -> None:
    with pytest.raises(SetupError, match="asynchronous=True"):
        service(api=RootAPI).application()


# -- routing -------------------------------------------------------------------------------


def test_the_projects_own_urls_keep_working() -> None:
    c = client(service(module=__name__).application())
    assert c.get("/native").text == "native GET"
    assert c.post("/native").status_code == 403  # Django's CSRF middleware: Django's own answer
    assert c.get("/api/items/3").json() == {"id": 3}
    r = c.get("/api/nope")  # not an API path: Django answers
    assert r.status_code == 404 and r.headers["content-type"] != "application/problem+json"


async def test_the_projects_own_urls_on_an_async_service() -> None:
    async with aclient(service(module=__name__, asynchronous=True).application()) as c:
        assert (await c.get("/native")).text == "native GET"
        assert (await c.get("/api/ahello")).text == "async world"


def test_api_with_and_without_route_prefix() -> None:
    c = client(service().application())
    assert c.get("/api/hello").text == "world"
    assert c.get("/hello").text == "world"


def test_strict_root_route() -> None:
    s = service()
    s.use(Preference(strict_root_route=True))
    c = client(s.application())
    assert c.get("/api/hello").text == "world"
    assert c.get("/hello").status_code == 404


def test_without_django_urls_unknown_paths_get_the_cores_404() -> None:
    s = service()
    c, core = client(s.application()), TestClient(s)
    for url in ("/nope", "/api/nope", "/n%C3%A9"):
        headers = {"X-Request-ID": "req-404"}
        expected = core.request("GET", url, headers=headers)
        assert response_parts(c.get(url, headers=headers)) == response_parts(expected)


def test_non_ascii_api_path() -> None:
    c = client(service().application())
    assert c.get("/api/items/%C3%A9").status_code == 400  # an API path whose parameter fails its type


def test_mounted_wsgi_app() -> None:
    def legacy(environ: dict, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{environ['SCRIPT_NAME']}|{environ['PATH_INFO']}".encode()]

    s = service(module=__name__)
    s.mount(legacy, "/legacy")
    c = client(s.application())
    assert c.get("/legacy/a/b").text == "/legacy|/a/b"
    assert c.get("/legacy").text == "/legacy|"
    assert c.get("/native").text == "native GET"
    assert c.get("/api/hello").text == "world"


async def test_mounted_asgi_and_wsgi_apps_on_an_async_service() -> None:
    async def asgi_app(scope: dict, receive: Any, send: Any) -> None:
        body = f"{scope['root_path']}|{scope['path']}".encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})

    def wsgi_app(environ: dict, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"wsgi " + environ["PATH_INFO"].encode()]

    s = service(asynchronous=True)
    s.mount(asgi_app, "/asgi")
    s.mount(wsgi_app, "/wsgi")
    async with aclient(s.application()) as c:
        assert (await c.get("/asgi/x")).text == "/asgi|/asgi/x"
        assert (await c.get("/wsgi/y")).text == "wsgi /y"
        assert (await c.get("/api/ahello")).text == "async world"


def test_an_asgi_app_cannot_be_mounted_on_a_wsgi_service() -> None:
    async def asgi_app(scope: dict, receive: Any, send: Any) -> None:  # pragma: no cover
        pass

    s = service()
    with pytest.raises(SetupError, match="asynchronous=True"):
        s.mount(asgi_app, "/asgi")  # refused at once, not when the app is built


def test_mounted_django_router() -> None:
    class Router:  # what Django-Ninja APIs and DRF routers offer: .urls
        urls = [path("ping", lambda request: HttpResponse("pong", content_type="text/plain"))]

    s = service()
    s.mount(Router(), "/ninja")
    c = client(s.application())
    assert c.get("/ninja/ping").text == "pong"
    assert c.get("/api/hello").text == "world"


# -- the core answers, byte for byte ------------------------------------------------------

CASES = [
    ("GET", "/api/hello"),
    ("HEAD", "/api/hello"),
    ("OPTIONS", "/api/hello"),
    ("DELETE", "/api/hello"),
    ("GET", "/api/items/abc"),
    ("GET", "/api/boom"),
    ("GET", "/api/denied"),
    ("GET", "/api/html"),
    ("POST", "/api/echo"),
]


def _kwargs(method: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"headers": {"X-Request-ID": "req-1"}}
    if method == "POST":
        kwargs["json"] = {"a": [1, 2]}
    return kwargs


@pytest.mark.parametrize("method, url", CASES)
def test_wsgi_responses_equal_the_cores(method: str, url: str) -> None:
    s = service(module=__name__)  # with Django URLs beside: the API paths still get the core's answers
    with TestClient(s) as core:
        expected = core.request(method, url, **_kwargs(method))
    r = client(s.application()).request(method, url, **_kwargs(method))
    assert response_parts(r) == response_parts(expected)
    if method == "DELETE":
        assert (r.status_code, r.headers["allow"]) == (405, "GET, HEAD, OPTIONS")
    if url == "/api/html":
        assert r.headers["content-type"] == "text/html"
        assert r.headers.get_list("set-cookie") == ["a=1; Path=/; SameSite=lax", "b=2; HttpOnly; Path=/; SameSite=lax"]


@pytest.mark.parametrize("method, url", CASES)
async def test_asgi_responses_equal_the_cores(method: str, url: str) -> None:
    s = service(module=__name__, asynchronous=True)
    async with aclient(s.application()) as c:
        r = await c.request(method, url, **_kwargs(method))
    async with AsyncTestClient(s) as core:
        expected = await core.request(method, url, **_kwargs(method))
    assert response_parts(r) == response_parts(expected)


def test_a_2_mib_upload_and_the_body_limit() -> None:
    s = service()
    s.use(Preference(max_body_size=3 * MiB))
    c = client(s.application())
    assert c.post("/api/upload", files={"file": ("a.bin", b"x" * (2 * MiB))}).json() == {"size": 2 * MiB}
    assert c.post("/api/upload", files={"file": ("a.bin", b"x" * (4 * MiB))}).status_code == 413


async def test_a_2_mib_upload_and_the_body_limit_async() -> None:
    s = service(asynchronous=True)
    s.use(Preference(max_body_size=3 * MiB))
    async with aclient(s.application()) as c:
        r = await c.post("/api/upload", files={"file": ("a.bin", b"x" * (2 * MiB))})
        assert r.json() == {"size": 2 * MiB}
        assert (await c.post("/api/upload", files={"file": ("a.bin", b"x" * (4 * MiB))})).status_code == 413


def test_client_ip_from_x_forwarded_for_behind_a_trusted_proxy() -> None:
    app = service().application()
    headers = {"X-Forwarded-For": "203.0.113.9, 127.0.0.1"}
    assert client(app).get("/api/ip", headers=headers).text == "203.0.113.9"
    assert client(app, remote_addr="10.1.2.3").get("/api/ip", headers=headers).text == "10.1.2.3"


async def test_client_ip_from_x_forwarded_for_async() -> None:
    app = service(asynchronous=True).application()
    headers = {"X-Forwarded-For": "203.0.113.9"}
    async with aclient(app) as c:
        assert (await c.get("/api/ip", headers=headers)).text == "203.0.113.9"
    async with aclient(app, client_addr="10.1.2.3") as c:
        assert (await c.get("/api/ip", headers=headers)).text == "10.1.2.3"


# -- asynchronous services ----------------------------------------------------------------


async def test_async_service_serves_async_and_sync_endpoints() -> None:
    async with aclient(service(asynchronous=True).application()) as c:
        assert (await c.get("/api/ahello")).text == "async world"
        assert (await c.get("/api/hello")).text == "world"


async def test_sync_endpoints_do_not_block_the_loop() -> None:
    async with aclient(service(asynchronous=True).application()) as c:
        start = time.perf_counter()
        assert (await c.get("/api/slow")).text == "slept"
        one = time.perf_counter() - start
        start = time.perf_counter()
        results = await asyncio.gather(c.get("/api/slow"), c.get("/api/slow"))
        assert [r.text for r in results] == ["slept", "slept"]
        assert time.perf_counter() - start < 1.6 * one


# -- hooks and signals ---------------------------------------------------------------------


def test_startup_hook_runs_once_before_the_first_request() -> None:
    events: list[str] = []
    s = service(module=__name__)
    s.on_startup(lambda: events.append("start"))
    c = client(s.application())
    assert events == []
    assert c.get("/native").text == "native GET"  # any first request, not only an API one
    assert c.get("/api/hello").text == "world"
    assert events == ["start"]
    s.shutdown()


async def test_lifespan_runs_the_hooks_which_djangos_handler_refuses() -> None:
    events: list[str] = []
    s = service(asynchronous=True)

    @s.on_startup
    async def start() -> None:
        await asyncio.sleep(0)
        events.append("start")

    @s.on_shutdown
    async def stop() -> None:
        events.append("stop")

    app = s.application()
    async with lifespan(app):
        assert events == ["start"]
        async with aclient(app) as c:
            assert (await c.get("/api/ahello")).text == "async world"
        assert events == ["start"]
    assert events == ["start", "stop"]


async def test_without_lifespan_the_hooks_run_before_the_first_request() -> None:
    events: list[str] = []  # as under Daphne, which sends no lifespan events
    s = service(asynchronous=True)
    s.on_startup(lambda: events.append("start"))
    async with aclient(s.application()) as c:
        await asyncio.gather(c.get("/api/ahello"), c.get("/api/ahello"))
    assert events == ["start"]
    await s.ashutdown()


@pytest.mark.parametrize("asynchronous", [False, True])
async def test_djangos_request_signals_are_sent_for_api_requests(asynchronous: bool) -> None:
    from django.core.signals import request_finished, request_started

    seen: list[str] = []

    def started(sender: Any, **kwargs: Any) -> None:
        seen.append("started")

    def finished(sender: Any, **kwargs: Any) -> None:
        seen.append("finished")

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        app = service(asynchronous=asynchronous).application()
        if asynchronous:
            async with aclient(app) as ac:
                assert (await ac.get("/api/hello")).text == "world"
        else:
            assert client(app).get("/api/hello").text == "world"
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    assert seen == ["started", "finished"]


# -- real servers --------------------------------------------------------------------------

SERVER = """
import os
from django.conf import settings
from django.http import HttpResponse
from django.urls import path
from utilmeta import UtilMeta
from utilmeta.core import api

SECRET_KEY = "a-test-secret-key-that-is-not-used-anywhere"
MARK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hooks.txt")


class RootAPI(api.API):
    @api.get
    def hello(self) -> str:
        return "world"

    @api.get
    def debug(self) -> str:
        return str(settings.DEBUG)


service = UtilMeta(__name__, name="demo", backend="django", api=RootAPI, route="/api", port={port}{extra})


@service.on_startup
def start():
    with open(MARK, "a") as f:
        f.write(f"start {{os.getpid()}}\\n")


@service.on_shutdown
def stop():
    with open(MARK, "a") as f:
        f.write(f"stop {{os.getpid()}}\\n")


urlpatterns = [path("native", lambda request: HttpResponse("native"))]

app = service.application()

if __name__ == "__main__":
    service.run()
"""


def _serve(tmp_path: Path, command: list[str], port: int, extra: str = "") -> tuple[str, str, list[str]]:
    """Start a server on ``port``; check the API, a Django URL and the hooks; stop it by SIGTERM."""
    (tmp_path / "server.py").write_text(textwrap.dedent(SERVER).format(port=port, extra=extra))
    mark = tmp_path / "hooks.txt"
    proc = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_for_port(port, proc)
        base = f"http://127.0.0.1:{port}"
        r = httpx.get(f"{base}/api/hello", timeout=5)
        assert (r.status_code, r.text, r.headers["content-type"]) == (200, "world", "text/plain; charset=utf-8")
        assert httpx.get(f"{base}/native", timeout=5).text == "native"
        assert httpx.get(f"{base}/api/debug", timeout=5).text == ("False" if "production" in extra else "True")
        wait_for(lambda: mark.exists() and mark.read_text().startswith("start"))
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    # uvicorn re-raises the signal after its graceful shutdown
    assert proc.returncode in (0, -signal.SIGTERM), (out, err)
    return out, err, mark.read_text().split()


def _banner(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("UtilMeta service")]


def test_run_serves_with_runserver_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    out, err, marks = _serve(tmp_path, [sys.executable, "server.py"], port)
    assert _banner(out) == [
        f"UtilMeta service 'demo' on django {django.__version__} (sync) at http://127.0.0.1:{port}/api"
    ]
    assert marks[0::2] == ["start", "stop"] and marks[1] == marks[3], (out, err)


def test_run_async_service_with_uvicorn_in_production(tmp_path: Path) -> None:
    port = free_port()
    out, err, marks = _serve(
        tmp_path, [sys.executable, "server.py"], port, extra=", asynchronous=True, production=True"
    )
    assert _banner(out) == [
        f"UtilMeta service 'demo' on django {django.__version__} (async) at http://127.0.0.1:{port}/api"
    ]
    assert marks[0::2] == ["start", "stop"], (out, err)


def test_gunicorn_runs_the_hooks_once_per_worker(tmp_path: Path) -> None:
    pytest.importorskip("gunicorn")
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "server:app"]
    out, err, marks = _serve(tmp_path, command, port)
    started = {pid for kind, pid in zip(marks[0::2], marks[1::2], strict=True) if kind == "start"}
    stopped = {pid for kind, pid in zip(marks[0::2], marks[1::2], strict=True) if kind == "stop"}
    assert marks.count("start") == len(started) and 1 <= len(started) <= 2, (marks, err)
    assert stopped == started, (marks, err)
