"""``API.__as__(app, route)``: an API class served inside an existing app, as UtilMeta's
"migrate from a current project" guide writes it for each framework, run by that framework's own
server (the app's runner, not the service's) — with sync and with async endpoints."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from backends_table import Cell
from netutil import free_port, serve_script

CALC = """
from utilmeta.core import api, response


class CalcAPI(api.API):
    class response(response.Response):
        result_key = "data"
        message_key = "msg"

    if {style!r} == "async":
        @api.get
        async def add(self, a: int, b: int) -> int:
            return a + b
    else:
        @api.get
        def add(self, a: int, b: int) -> int:
            return a + b

    @api.post
    def echo(self, note: str = "") -> dict:
        self.request.headers  # the request is the core's
        return {{"note": note, "cookie": self.request.cookies.get("c")}}
"""

#: backend → the existing project, with ``CalcAPI.__as__`` added the way UtilMeta's guide shows
PROJECTS = {
    "flask": """
from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello_world():
    return "own: flask"

{calc}
CalcAPI.__as__(app, route="/calc", asynchronous={asynchronous!r})

if __name__ == "__main__":
    app.run(host="127.0.0.1", port={port})
""",
    "starlette": """
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def home(request):
    return PlainTextResponse("own: starlette")


app = Starlette(routes=[Route("/", home)])
{calc}
CalcAPI.__as__(app, route="/calc")

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning")
""",
    "fastapi": """
from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def read_root():
    return "own: fastapi"

{calc}
CalcAPI.__as__(app, route="/calc")

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning")
""",
    "sanic": """
from sanic import Sanic
from sanic.response import text

app = Sanic("MyHelloWorldApp")


@app.get("/")
async def hello_world(request):
    return text("own: sanic")

{calc}
CalcAPI.__as__(app, route="/calc")

if __name__ == "__main__":
    app.run(host="127.0.0.1", port={port}, single_process=True, motd=False, access_log=False)
""",
    "tornado": """
import asyncio

import tornado
import tornado.web


class MainHandler(tornado.web.RequestHandler):
    def get(self):
        self.write("own: tornado")

{calc}

def make_app():
    return tornado.web.Application([
        CalcAPI.__as__(tornado, route="/calc"),
        (r"/", MainHandler),
    ])


async def main():
    app = make_app()
    app.listen({port}, address="127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
""",
    "django": """
import sys

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="embedded",
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware"],
)
django.setup()

from django.http.response import HttpResponse
from django.urls import re_path
{calc}

def django_test(request, route: str):
    return HttpResponse("own: django " + route)


urlpatterns = [
    re_path("test/(.*)", django_test),
    CalcAPI.__as__(django, route="/calc", asynchronous={asynchronous!r}),
]

if __name__ == "__main__":
    if {asynchronous!r}:
        import uvicorn
        from django.core.asgi import get_asgi_application

        uvicorn.run(get_asgi_application(), host="127.0.0.1", port={port}, log_level="warning")
    else:
        from django.core.management import execute_from_command_line

        execute_from_command_line([sys.argv[0], "runserver", "127.0.0.1:{port}", "--noreload"])
""",
}

OWN_PATH = {"django": "/test/x"}


@pytest.fixture(scope="module")
def project(backend: Cell, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp(f"embed-{backend.name}-{backend.style}")
    port = free_port()
    script = tmp / "project.py"
    calc = CALC.format(style=backend.style)
    script.write_text(PROJECTS[backend.name].format(calc=calc, port=port, asynchronous=backend.asynchronous))
    with serve_script(script, port, stop_timeout=10):
        yield f"http://127.0.0.1:{port}"


def test_the_api_answers_below_its_route(project: str) -> None:
    r = httpx.get(project + "/calc/add?a=1&b=2", timeout=10)
    assert (r.status_code, r.json()) == (200, {"data": 3, "msg": ""})
    assert r.headers["content-type"].startswith("application/json")


def test_the_apps_own_routes_still_answer(project: str, backend: Cell) -> None:
    r = httpx.get(project + OWN_PATH.get(backend.name, "/"), timeout=10)
    assert r.status_code == 200
    assert f"own: {backend.name}" in r.text


def test_errors_are_the_cores(project: str) -> None:
    bad = httpx.get(project + "/calc/add?a=1&b=x", timeout=10)
    assert bad.status_code == 400
    assert bad.json()["data"] is None and "b" in bad.json()["msg"]
    assert httpx.delete(project + "/calc/add", timeout=10).status_code == 405
    assert httpx.get(project + "/calc/nothing", timeout=10).status_code == 404


def test_post_with_cookie_and_no_csrf_token(project: str) -> None:
    r = httpx.post(project + "/calc/echo?note=n", headers={"Cookie": "c=v"}, timeout=10)
    assert (r.status_code, r.json()) == (200, {"data": {"note": "n", "cookie": "v"}, "msg": ""})


# -- what is refused, and foreign WSGI apps on ASGI backends --------------------------------------


def test_a_module_other_than_django_or_tornado_is_refused() -> None:
    import flask

    from utilmeta.core import api
    from utilmeta.utils.exceptions import SetupError

    class One(api.API):
        def get(self) -> str:
            return "one"

    with pytest.raises(SetupError, match=r"pass the flask application itself"):
        One.__as__(flask, route="/one")


def test_as_is_called_once_per_process() -> None:
    from flask import Flask

    from utilmeta.core import api
    from utilmeta.utils.exceptions import SetupError

    class One(api.API):
        def get(self) -> str:
            return "one"

    One.__as__(Flask("first"), route="/one")
    with pytest.raises(SetupError, match="__as__ is called once per process"):
        One.__as__(Flask("second"), route="/two")


@pytest.mark.parametrize("framework", ["starlette", "fastapi", "django"])
def test_a_flask_app_mounted_on_an_asgi_service(framework: str) -> None:
    import asyncio

    from flask import Flask

    from utilmeta import UtilMeta
    from utilmeta.core import api

    flask_app = Flask(__name__)

    @flask_app.route("/hello")
    def hello_flask() -> str:
        from flask import request

        return f"flask {request.script_root} {request.path}"

    class RootAPI(api.API):
        @api.get
        def hello(self) -> str:
            return "core"

    service = UtilMeta(__name__, backend=framework, name="demo", api=RootAPI, route="/api", asynchronous=True)
    service.mount(flask_app, "/v1")
    app = service.application()

    async def call(path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(path)

    r = asyncio.run(call("/v1/hello"))
    assert (r.status_code, r.text) == (200, "flask /v1 /hello")
    assert asyncio.run(call("/api/hello")).text == "core"


@pytest.mark.parametrize("framework", ["flask", "django"])
def test_an_asgi_app_on_a_wsgi_service_is_refused_at_mount(framework: str) -> None:
    from starlette.applications import Starlette

    from utilmeta import UtilMeta
    from utilmeta.utils.exceptions import SetupError

    service = UtilMeta(__name__, backend=framework, name="demo")
    with pytest.raises(SetupError, match="an ASGI app cannot be served by a .* service under a WSGI server"):
        service.mount(Starlette(), "/v2")
