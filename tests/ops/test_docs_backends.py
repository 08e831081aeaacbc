"""The served document is the same bytes on every backend (all but ``servers``, which says where
it was served from): the six frameworks' own apps, and the framework-free ASGI and WSGI ones.

Reached in-process through the backend's ASGI or WSGI app where it is one, else (tornado) through
``service.run()`` in a subprocess on a free loopback port.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import urllib.request
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from backends_table import BACKENDS

from utilmeta.core.server.service import _clear_service
from utilmeta.ops import generate, render

from .apis import application, make_service, running

PATH = "/api/openapi.json"
SERVERS = re.compile(rb'"servers":\[[^\]]*\],')


def _wsgi_get(app: Any, path: str) -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {"PATH_INFO": path, "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    started: list[Any] = []
    chunks = app(environ, lambda status, headers, exc_info=None: started.extend((status, headers)))
    try:
        body = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return started[0].split()[0], {k.lower(): v for k, v in started[1]}, body


def _asgi_get(app: Any, path: str) -> tuple[str, dict[str, str], bytes]:
    return asyncio.run(_asgi_call(app, path))


async def _asgi_call(app: Any, path: str) -> tuple[str, dict[str, str], bytes]:
    """GET ``path`` from an ASGI app, inside its lifespan (sanic serves nothing before startup)."""
    lifespan: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    said: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, lifespan.get, said.put)
    )
    await lifespan.put({"type": "lifespan.startup"})
    started = await said.get()
    assert started["type"] == "lifespan.startup.complete", started
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }  # fmt: skip
    request = [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return request.pop() if request else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    await lifespan.put({"type": "lifespan.shutdown"})
    await said.get()
    await task
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return str(start["status"]), {k.decode().lower(): v.decode() for k, v in start["headers"]}, body


def _server_get(backend: str, workdir: Path, path: str) -> tuple[str, dict[str, str], bytes]:
    with running(backend, workdir) as base, urllib.request.urlopen(base + path, timeout=10) as r:
        return str(r.status), {k.lower(): v for k, v in r.headers.items()}, r.read()


def served(backend: str, workdir: Path) -> tuple[str, dict[str, str], bytes]:
    kind = BACKENDS[backend].reach
    if kind == "server":
        return _server_get(backend, workdir, PATH)
    app = application(backend)
    return (_asgi_get if kind == "asgi" else _wsgi_get)(app, PATH)


@pytest.fixture(scope="module")
def reference() -> bytes:
    """What the framework-free core serves, ``servers`` left out."""
    _clear_service()
    try:
        expected = render(generate(make_service("asgi"), servers=["/api"]), indent=0)
    finally:
        _clear_service()
    assert SERVERS.search(expected)
    return SERVERS.sub(b"", expected, count=1)


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_the_served_document_is_the_same_bytes_on_every_backend(backend: str, reference: bytes, tmp_path: Path) -> None:
    status, headers, body = served(backend, tmp_path)
    assert status == "200" and headers["content-type"] == "application/json"
    servers = json.loads(body)["servers"]
    assert [s["url"].rstrip("/").endswith("/api") for s in servers] == [True]
    assert SERVERS.sub(b"", body, count=1) == reference
