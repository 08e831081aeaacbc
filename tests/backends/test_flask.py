"""The flask backend, through the real framework: in-process over ``httpx.WSGITransport`` and
real servers started by ``service.run()`` (werkzeug)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import flask
import httpx
import pytest
from flask import Flask

from utilmeta import UtilMeta
from utilmeta.conf import Preference
from utilmeta.core.server.backends.flask import FlaskServerAdaptor
from utilmeta.testing import TestClient

from .test_starlette import COOKIES, MiB, RootAPI, SyncRootAPI, check_real_server, response_parts


def service(backend: Any = "flask", **kwargs: Any) -> UtilMeta:
    kwargs.setdefault("api", RootAPI if kwargs.get("asynchronous") else SyncRootAPI)
    kwargs.setdefault("route", "/api")
    return UtilMeta(__name__, backend=backend, **kwargs)


def client(app: Any, remote_addr: str = "127.0.0.1") -> httpx.Client:
    transport = httpx.WSGITransport(app=app, remote_addr=remote_addr)
    return httpx.Client(transport=transport, base_url="http://testserver")


def native_app() -> Flask:
    app = Flask(__name__)

    @app.get("/native")
    def native() -> str:
        return "native"

    return app


# -- backend= ------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["module", "name", "instance"])
def test_backend_as_module_name_or_instance(how: str) -> None:
    given = {"module": flask, "name": "flask", "instance": Flask(__name__)}[how]
    s = service(given)
    assert isinstance(s.adaptor, FlaskServerAdaptor)
    app = s.application()
    assert type(app) is Flask
    if how == "instance":
        assert app is given
    assert (s.asynchronous, s.port) == (False, 5000)
    r = client(app).get("/api/hello")
    assert (r.status_code, r.text, r.headers["content-type"]) == (200, "world", "text/plain; charset=utf-8")


def test_application_twice_is_the_same_app_wrapped_once() -> None:
    s = service()
    app = s.application()
    dispatcher = app.wsgi_app
    assert s.application() is app and app.wsgi_app is dispatcher
    assert client(app).get("/api/hello").text == "world"


def test_debug_only_when_asked() -> None:
    # a development service is not Flask's debug mode (its debugger, "Debug mode: on")
    assert service().application().debug is False
    app = Flask(__name__)
    app.debug = True
    assert service(app).application().debug is True


def test_production_turns_debug_off_even_on_an_injected_app() -> None:
    app = Flask(__name__)
    app.debug = True
    assert service(app, production=True).application().debug is False


def test_async_endpoint_in_a_sync_service_is_a_setup_error() -> None:
    from utilmeta.utils.exceptions import SetupError

    with pytest.raises(SetupError, match="asynchronous=True"):
        service(api=RootAPI).application()


# -- routing -------------------------------------------------------------------------------


def test_injected_app_keeps_its_routes() -> None:
    c = client(service(native_app()).application())
    assert (c.get("/native").status_code, c.get("/native").text) == (200, "native")
    assert c.post("/native").status_code == 405  # Flask's own answer for its own route
    assert c.get("/api/items/3").json() == {"id": 3}


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


def test_unknown_path_gets_the_cores_404() -> None:
    s = service(native_app())
    c, core = client(s.application()), TestClient(s)
    for path in ("/nope", "/api/nope"):
        headers = {"X-Request-ID": "req-404"}
        assert response_parts(c.get(path, headers=headers)) == response_parts(
            core.request("GET", path, headers=headers)
        )


def test_an_app_handling_404_keeps_answering_unknown_paths() -> None:
    app = native_app()
    app.register_error_handler(404, lambda e: ("custom 404", 404))
    c = client(service(app).application())
    assert c.get("/nope").text == "custom 404"
    assert c.get("/api/nope").text == "custom 404"  # no API path either: the app's 404
    assert c.get("/api/hello").text == "world"


def test_non_ascii_paths() -> None:
    s = service(native_app())
    c = client(s.application())
    r = c.get("/api/items/%C3%A9")
    assert r.status_code == 400  # the core's: an API path whose parameter fails its type
    assert c.get("/n%C3%A9").headers["content-type"] == "application/problem+json"


def test_wsgi_middleware_wrapped_afterwards_wraps_the_api() -> None:
    app = service().application()
    inner = app.wsgi_app

    def tagging(environ: dict, start_response: Any) -> Any:
        def tagged(status: str, headers: list, exc_info: Any = None) -> Any:
            return start_response(status, [*headers, ("X-Tag", "yes")], exc_info)

        return inner(environ, tagged)

    app.wsgi_app = tagging
    assert client(app).get("/api/hello").headers["x-tag"] == "yes"


def test_mounted_wsgi_app() -> None:
    def legacy(environ: dict, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{environ['SCRIPT_NAME']}|{environ['PATH_INFO']}".encode()]

    s = service(native_app())
    s.mount(legacy, "/legacy")
    c = client(s.application())
    assert c.get("/legacy/a/b").text == "/legacy|/a/b"
    assert c.get("/legacy").text == "/legacy|"
    assert c.get("/legacyx").headers["content-type"] == "application/problem+json"
    assert c.get("/native").text == "native"
    assert c.get("/api/hello").text == "world"


# -- the core answers, byte for byte ------------------------------------------------------


@pytest.mark.parametrize("asynchronous", [False, True])
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
def test_responses_equal_the_cores(method: str, path: str, asynchronous: bool) -> None:
    s = service(asynchronous=asynchronous)
    c = client(s.application())
    kwargs: dict[str, Any] = {"headers": {"X-Request-ID": "req-1"}}
    if method == "POST":
        kwargs["json"] = {"a": [1, 2]}
    with TestClient(s) as core:
        expected = core.request(method, path, **kwargs)
    r = c.request(method, path, **kwargs)
    assert response_parts(r) == response_parts(expected)
    if method == "DELETE":
        assert (r.status_code, r.headers["allow"]) == (405, "GET, HEAD, OPTIONS")
    if path == "/api/html":
        assert r.headers["content-type"] == "text/html"  # no charset appended by Flask
        assert r.headers.get_list("set-cookie") == COOKIES


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_2_mib_upload_and_the_body_limit(asynchronous: bool) -> None:
    s = service(asynchronous=asynchronous)
    s.use(Preference(max_body_size=3 * MiB))
    c = client(s.application())
    assert c.post("/api/upload", files={"file": ("a.bin", b"x" * (2 * MiB))}).json() == {"size": 2 * MiB}
    assert c.post("/api/upload", files={"file": ("a.bin", b"x" * (4 * MiB))}).status_code == 413


def test_client_ip_from_x_forwarded_for_behind_a_trusted_proxy() -> None:
    app = service().application()
    headers = {"X-Forwarded-For": "203.0.113.9, 127.0.0.1"}
    assert client(app).get("/api/ip", headers=headers).text == "203.0.113.9"
    assert client(app, remote_addr="10.1.2.3").get("/api/ip", headers=headers).text == "10.1.2.3"


# -- asynchronous services ----------------------------------------------------------------


def test_async_service_serves_async_and_sync_endpoints() -> None:
    c = client(service(asynchronous=True).application())
    assert c.get("/api/ahello").text == "async world"
    assert c.get("/api/hello").text == "world"


def test_async_service_reuses_one_loop_per_thread() -> None:
    from utilmeta.core.server.backends import flask as adaptor

    c = client(service(asynchronous=True).application())
    c.get("/api/ahello")
    loop = adaptor._thread_loop.loop
    c.get("/api/ahello")
    assert adaptor._thread_loop.loop is loop and loop is not None and not loop.is_closed()


def test_async_service_requests_in_threads_run_concurrently() -> None:
    app = service(asynchronous=True).application()
    results: list[str] = []

    def call() -> None:
        results.append(client(app).get("/api/slow").text)

    start = time.perf_counter()
    call()
    one = time.perf_counter() - start
    threads = [threading.Thread(target=call) for _ in range(2)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["slept"] * 3
    assert time.perf_counter() - start < 1.6 * one


# -- hooks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("asynchronous", [False, True])
def test_startup_hook_runs_once_before_the_first_request(asynchronous: bool) -> None:
    events: list[str] = []
    s = service(native_app(), asynchronous=asynchronous)
    if asynchronous:

        @s.on_startup
        async def start() -> None:
            await asyncio.sleep(0)
            events.append("start")

    else:
        s.on_startup(lambda: events.append("start"))
    c = client(s.application())
    assert events == []
    assert c.get("/native").text == "native"  # any first request, not only an API one
    assert c.get("/api/hello").text == "world"
    assert events == ["start"]
    s.shutdown()


# -- real servers --------------------------------------------------------------------------


def test_run_serves_with_werkzeug_and_stops_on_sigterm(tmp_path: Path) -> None:
    check_real_server(tmp_path, "flask", "import flask", "flask")


def test_run_async_service_on_an_injected_app(tmp_path: Path) -> None:
    def native(port: int) -> None:
        assert httpx.get(f"http://127.0.0.1:{port}/native", timeout=5).text == "native"

    check_real_server(
        tmp_path,
        "flask",
        "from flask import Flask\napp = Flask(__name__)\napp.get('/native')(lambda: 'native')",
        "app",
        extra=", asynchronous=True",
        request=native,
    )
