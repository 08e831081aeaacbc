"""WSGI translation, and the framework-free WSGI backend (``backend='wsgi'``).

:func:`request_from_environ` and :func:`send_wsgi` are what WSGI-based adaptors (flask, django)
use to talk to the core.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from utilmeta.core.request import Request
from utilmeta.core.request.request import Headers, HeaderSource
from utilmeta.core.response import Response
from utilmeta.core.response.wire import framing, status_line
from utilmeta.core.server.backends.base import ServerAdaptor
from utilmeta.core.server.backends.paths import wsgi_path
from utilmeta.utils.exceptions import BadRequest, HttpError

__all__ = [
    "CORE_ANSWERED",
    "EnvironHeaders",
    "read_body",
    "request_from_environ",
    "send_wsgi",
    "WSGIApp",
    "WSGIServerAdaptor",
]

#: the environ key marking a request the core answered, where a framework or a mounted app may
#: answer others: a development server leaves such a request's line to the core's access line
CORE_ANSWERED = "utilmeta.answered"

StartResponse = Callable[..., Any]


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


def read_body(stream: Any, headers: HeaderSource, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the body from ``wsgi.input``. Whatever goes wrong while
    reading is the client's doing (a malformed chunk, a disconnect): a 400, never a 500; and a
    body shorter than its ``Content-Length`` is never handed on as if it were whole."""
    if stream is None:
        return b""
    length = headers.get("content-length")
    try:
        if length:
            expected = int(length)  # the core checked it is a number
            want = min(expected, limit + 1)
            data = stream.read(want)
            while len(data) < want:
                more = stream.read(want - len(data))
                if not more:
                    raise BadRequest(f"the request body ended after {len(data)} of its {expected} bytes")
                data += more
            return data
        if "chunked" in (headers.get("transfer-encoding") or "").lower():
            return stream.read(limit + 1)
    except HttpError:
        raise
    except Exception as e:  # the server's reader: InvalidChunkSize, NoMoreData, OSError, ...
        raise BadRequest(f"the request body could not be read ({type(e).__name__})") from None
    return b""


def request_from_environ(environ: dict[str, Any], native: Any = None) -> Request:
    """The core's request for a WSGI environ; the body is read only if the endpoint needs it."""
    path = wsgi_path(environ)
    headers = EnvironHeaders(environ)

    def reader(limit: int) -> bytes:
        return read_body(environ.get("wsgi.input"), headers, limit)

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
    headers, body = framing(response)
    start_response(status_line(response.status), headers)
    if response.stream is not None:
        return response.stream.chunks()
    return [body]


class WSGIApp:
    """The core as a WSGI callable. Startup hooks run before the first request in each worker
    process; shutdown hooks at interpreter exit."""

    def __init__(self, service: Any):
        self.service = service
        self.router = service.router
        self.lifecycle = service.adaptor.lifecycle

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not self.lifecycle.started:
            self.lifecycle.start()
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

        adaptor = self

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                if not adaptor.logs_access:  # the core answers every request: its line is the one
                    super().log_request(code, size)

            def log_message(self, format: str, *args: Any) -> None:
                if not self.server.quiet:  # type: ignore[attr-defined]
                    super().log_message(format, *args)

        server = make_server(host, port, app, handler_class=QuietHandler, **kwargs)
        server.quiet = self.service.production  # type: ignore[attr-defined]
        self.announce(server.server_port)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            self.lifecycle.shutdown()
