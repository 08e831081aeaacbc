"""WSGI translation, and the framework-free WSGI backend (``backend='wsgi'``).

:func:`request_from_environ` and :func:`send_wsgi` are what WSGI-based adaptors (flask, django)
use to talk to the core.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from utilmeta.core.request import Request
from utilmeta.core.request.request import Headers, HeaderSource
from utilmeta.core.response import Response
from utilmeta.core.server.backends.base import ServerAdaptor

__all__ = ["EnvironHeaders", "request_from_environ", "send_wsgi", "WSGIApp", "WSGIServerAdaptor", "status_line"]

StartResponse = Callable[..., Any]

_STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}


def status_line(status: int) -> str:
    return _STATUS_LINES.get(status) or f"{status} Unknown"


#: environ keys of header names, for look-ups (the few names the core asks for)
_KEYS: dict[str, str] = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


class EnvironHeaders(HeaderSource):
    """The ``HTTP_*`` (and content) variables of a WSGI environ, as headers when asked for."""

    __slots__ = ("environ",)

    def __init__(self, environ: dict[str, Any]):
        self.environ = environ

    def get(self, name: str) -> str | None:
        key = _KEYS.get(name)
        if key is None:
            if "_" in name:
                return None  # an environ key cannot tell "a_b" from "a-b": only the latter is a header
            key = "HTTP_" + name.upper().replace("-", "_")
            if len(_KEYS) < 512:
                _KEYS[name] = key
        environ = self.environ
        if key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
            return environ.get(key) or environ.get("HTTP_" + key)
        return environ.get(key)

    def build(self) -> Headers:
        environ = self.environ
        headers = Headers()
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                dict.__setitem__(headers, key[5:].replace("_", "-").lower(), value)
        ctype = environ.get("CONTENT_TYPE")
        if ctype:
            dict.__setitem__(headers, "content-type", ctype)
        length = environ.get("CONTENT_LENGTH")
        if length:
            dict.__setitem__(headers, "content-length", length)
        return headers


def request_from_environ(environ: dict[str, Any], native: Any = None) -> Request:
    """The core's request for a WSGI environ; the body is read only if the endpoint needs it."""
    path = environ.get("PATH_INFO") or "/"
    if not path.isascii():
        try:
            path = path.encode("latin-1").decode("utf-8")  # PEP 3333 hands bytes over as latin-1
        except UnicodeError:
            pass
    headers = EnvironHeaders(environ)

    def reader(limit: int) -> bytes:
        stream = environ.get("wsgi.input")
        if stream is None:
            return b""
        length = headers.get("content-length")
        if length:
            return stream.read(min(int(length), limit + 1))
        if "chunked" in (headers.get("transfer-encoding") or "").lower():
            return stream.read(limit + 1)
        return b""

    server = environ.get("SERVER_NAME", "")
    port = environ.get("SERVER_PORT")
    return Request(
        environ.get("REQUEST_METHOD", "GET"),
        path,
        environ.get("QUERY_STRING", ""),
        headers,
        reader=reader,
        client_addr=environ.get("REMOTE_ADDR", ""),
        scheme=environ.get("wsgi.url_scheme", "http"),
        server_host=f"{server}:{port}" if port else server,
        native=native if native is not None else environ,
    )


def send_wsgi(response: Response, start_response: StartResponse) -> Iterable[bytes]:
    start_response(status_line(response.status), response.header_items(content_length=True))
    return [response.body or b""]


class WSGIApp:
    """The core as a WSGI callable. Startup hooks run before the first request in each worker
    process; shutdown hooks at interpreter exit."""

    def __init__(self, service: Any):
        self.service = service
        self.router = service.router
        self._started = False
        self._lock = threading.Lock()

    def _start(self) -> None:
        with self._lock:
            if not self._started:
                if self.service.startup():
                    atexit.register(self.service.shutdown)
                self._started = True

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not self._started:
            self._start()
        response = self.router(request_from_environ(environ))
        return send_wsgi(response, start_response)


class WSGIServerAdaptor(ServerAdaptor):
    name = "wsgi"

    def application(self) -> WSGIApp:
        return WSGIApp(self.service)

    def run(self, **kwargs: Any) -> None:
        from wsgiref.simple_server import WSGIRequestHandler, make_server

        app = self.application()
        host = kwargs.pop("host", self.service.host)
        port = kwargs.pop("port", self.service.port)

        class QuietHandler(WSGIRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                if not self.server.quiet:  # type: ignore[attr-defined]
                    super().log_message(format, *args)

        server = make_server(host, port, app, handler_class=QuietHandler, **kwargs)
        server.quiet = self.service.production  # type: ignore[attr-defined]
        print(self.service.banner(), flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            self.service.shutdown()
