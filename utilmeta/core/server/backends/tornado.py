"""The Tornado backend: one ``RequestHandler`` on a ``tornado.web.Application``.

The handler takes every method, collects the body as it streams in (keeping at most the core's
limit + 1 bytes, so an oversized body is refused by the core with a 413 without being held in
memory), then sends the core's status, headers and body as they are: no default
``Content-Type``, no ETag/304 of Tornado's own. An injected application keeps its routes: the
handler's rule goes first and matches only paths of the API; the handler also answers (the core's
404) where no rule matches, unless the app set a ``default_handler_class`` of its own.

On an application the adaptor makes itself (no settings, transforms or access log of the
user's), API requests skip the ``RequestHandler``: a lean message delegate
(:class:`_CoreDelegate`) writes the same bytes to the connection, and hands an exception to
such a handler, which answers it as Tornado does.

``service.mount(wsgi_app, route)`` serves a WSGI app below ``route`` (Tornado's
``WSGIContainer``, on the core's thread pool); Tornado has no place for a mounted ASGI app.

``run()`` serves on asyncio: startup hooks, then the sockets bound and added to an ``HTTPServer``
(its ``listen()``, in two steps so the banner names the bound port); on SIGTERM or
SIGINT it stops accepting, lets the requests in flight finish, closes the connections and runs
the shutdown hooks. Under a server of one's own, startup hooks run before the first request
and shutdown hooks at exit.
"""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import Awaitable, Callable, Container, Iterable
from concurrent.futures import Executor, Future
from typing import Any, ClassVar

import tornado
from tornado.httputil import (
    HTTPHeaders,
    HTTPMessageDelegate,
    HTTPServerRequest,
    ResponseStartLine,
)
from tornado.iostream import StreamClosedError
from tornado.log import app_log
from tornado.routing import AnyMatches, Matcher, PathMatches, Rule
from tornado.routing import Router as Router_
from tornado.web import Application, FallbackHandler, RequestHandler, stream_request_body

from utilmeta.core.api.router import Router
from utilmeta.core.request import Request
from utilmeta.core.request.request import Headers, HeaderSource, fold
from utilmeta.core.response import Response
from utilmeta.core.response.wire import framing, http_date, reason
from utilmeta.core.server.backends.base import Lifecycle, ServerAdaptor
from utilmeta.core.server.backends.paths import MountTable, is_asgi_app, mounted_environ, origin_form, unquote_path
from utilmeta.utils.exceptions import SetupError

__all__ = ["TornadoServerAdaptor"]

_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
_DEFAULT_MAX_BODY = 100 * 1024 * 1024  # Tornado's own default
#: how long a graceful stop waits for the requests in flight
_DRAIN_TIMEOUT = 30.0


class _AnyMethod(Container[str]):
    """``SUPPORTED_METHODS`` that lets every method through: the core answers 405 itself."""

    def __contains__(self, method: object) -> bool:
        return True


class _State:
    """Per application: the service's lifecycle, and the requests in flight (for a graceful stop)."""

    def __init__(self, lifecycle: Lifecycle):
        self.lifecycle = lifecycle
        self.inflight = 0
        self._idle: asyncio.Event | None = None

    def release(self) -> None:
        self.inflight -= 1
        if not self.inflight and self._idle is not None:
            self._idle.set()

    async def drain(self, timeout: float) -> None:
        if self.inflight:
            self._idle = asyncio.Event()
            try:
                await asyncio.wait_for(self._idle.wait(), timeout)
            except asyncio.TimeoutError:
                pass
            finally:
                self._idle = None


class _APIPaths(Matcher):
    """Matches the paths of the API, leaving the others to an injected app's own rules."""

    def __init__(self, router: Router):
        self.router = router

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        return {} if self.router.match(_path(request)) is not None else None


class _TornadoHeaders(HeaderSource):
    """A Tornado request's ``HTTPHeaders`` (case-insensitive, repeated names kept)."""

    __slots__ = ("native",)

    def __init__(self, native: Any):
        self.native = native

    def get(self, name: str) -> str | None:
        return fold(name, self.native.get_list(name))

    def build(self) -> Headers:
        return Headers.from_pairs(self.native.get_all())


def _path(req: HTTPServerRequest) -> str:
    # Tornado keeps an absolute-form target (``GET http://host/a``) whole in ``path``
    return unquote_path(req.path if req.path[:1] == "/" else origin_form(req.path))


def _core_request(req: HTTPServerRequest, parts: list[bytes] | None) -> Request:
    return Request(
        req.method or "GET",
        _path(req),
        req.query,
        _TornadoHeaders(req.headers),
        body=(parts[0] if len(parts) == 1 else b"".join(parts)) if parts else b"",
        client_addr=req.remote_ip or "",
        scheme=req.protocol,
        server_host=req.host,
        native=req,
    )


class _CoreHandler(RequestHandler):
    SUPPORTED_METHODS = _AnyMethod()  # type: ignore[assignment]
    router: ClassVar[Router]
    state: ClassVar[_State]
    limit: ClassVar[int]
    #: the ``Server`` header: Tornado's, with its version only when ``Preference(server_tokens=True)``
    server: ClassVar[str]

    _parts: list[bytes] | None = None
    _size = 0
    _counted = False
    _streaming: asyncio.Task[Any] | None = None

    def set_default_headers(self) -> None:
        self.clear_header("Content-Type")  # the core sets its own, or none
        self.set_header("Server", self.server)

    def compute_etag(self) -> None:
        return None  # no ETag and no 304 the core did not ask for

    def check_xsrf_cookie(self) -> None:
        pass  # the API is not a form: an app's xsrf_cookies setting is for its own handlers

    def prepare(self) -> Any:
        self.state.inflight += 1
        self._counted = True
        if self.request.method not in _METHODS:
            return self._serve()  # no handler attribute to reach; the core answers 404/405
        return None

    def data_received(self, chunk: bytes) -> None:
        if self._size <= self.limit:  # beyond that the core refuses the body anyway
            if self._parts is None:
                self._parts = []
            self._parts.append(chunk)
        self._size += len(chunk)

    async def _serve(self) -> None:
        lifecycle = self.state.lifecycle
        if not lifecycle.started:
            await lifecycle.astart()
        response = await self.router.acall(_core_request(self.request, self._parts))
        self.set_status(response.status, reason(response.status))
        headers, body = framing(response)
        for name, value in headers:  # names are unique but for Set-Cookie
            if name == "Set-Cookie":
                self.add_header(name, value)
            else:
                self.set_header(name, value)
        if response.stream is not None:
            self._streaming = asyncio.current_task()

            async def write(chunk: bytes) -> None:
                self.write(chunk)
                await self.flush()

            if await _pump(response, write):
                self.finish()
        elif body:
            self.finish(body)
        else:
            self.finish()  # finish(b"") counts as a body, which Tornado refuses for a 204

    get = post = put = patch = delete = head = options = _serve

    def on_finish(self) -> None:
        if self._counted:
            self._counted = False
            self.state.release()

    def on_connection_close(self) -> None:
        streaming, self._streaming = self._streaming, None
        if streaming is not None:
            streaming.cancel()  # the event stream stops now, not at its next event
        self.on_finish()


async def _pump(response: Response, write: Callable[[bytes], Awaitable[None]]) -> bool:
    """Write a streamed answer's chunks until it ends (True) or the client goes (False); its
    generator is closed either way."""
    assert response.stream is not None
    chunks = response.stream.achunks()
    try:
        async for chunk in chunks:
            await write(chunk)
        return True
    except (asyncio.CancelledError, StreamClosedError):
        return False
    finally:
        await chunks.aclose()


def _header_value(value: str) -> str:
    # RequestHandler.set_header's check (it refuses values that could inject headers); it
    # reads nothing of the handler
    return RequestHandler._convert_header_value(None, value)  # type: ignore[arg-type]


class _CoreDelegate(HTTPMessageDelegate):
    """One API request on an application the adaptor made itself: the core's response written
    straight to the connection, byte for byte what :class:`_CoreHandler` writes (Server and Date
    headers, a Content-Length, no body for HEAD, 1xx, 204 and 304), without creating a
    ``RequestHandler`` per request. An exception is answered by such a handler, as Tornado does."""

    __slots__ = ("target", "request", "parts", "size", "counted", "streamed", "response", "error")

    def __init__(self, target: _CoreTarget, request: HTTPServerRequest):
        self.target = target
        self.request = request
        self.parts: list[bytes] | None = None
        self.size = 0
        self.counted = False
        self.streamed = False
        self.response: Response | None = None
        self.error: Exception | None = None

    def headers_received(self, start_line: Any, headers: HTTPHeaders) -> Awaitable[None] | None:
        self.target.state.inflight += 1
        self.counted = True
        connection = self.request.connection
        assert connection is not None
        connection.set_close_callback(self.on_connection_close)  # type: ignore[attr-defined]
        if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
            # no body will come: the answer is made while the connection waits, and sent from
            # finish() — a response finished before the request was read closes the connection
            return self._answer()
        self.streamed = True
        return None

    def data_received(self, chunk: bytes) -> None:
        if self.size <= self.target.limit:  # beyond that the core refuses the body anyway
            if self.parts is None:
                self.parts = []
            self.parts.append(chunk)
        self.size += len(chunk)

    def finish(self) -> None:
        if self.streamed:  # the body is complete
            asyncio.ensure_future(self._serve())
        else:
            self._send()

    def on_connection_close(self) -> None:
        if self.counted:
            self.counted = False
            self.target.state.release()

    async def _answer(self) -> None:
        lifecycle = self.target.state.lifecycle
        try:
            if not lifecycle.started:
                await lifecycle.astart()
            self.response = await self.target.router.acall(_core_request(self.request, self.parts))
        except Exception as e:
            self.error = e

    async def _serve(self) -> None:
        await self._answer()
        self._send()

    def _send(self) -> None:
        try:
            if self.error is not None:
                raise self.error
            assert self.response is not None
            if self.response.stream is not None:
                asyncio.ensure_future(self._stream(self.response))
                return
            self._write(self.response)
        except Exception as e:
            self.error = self.response = None
            target = self.target
            try:
                handler = target.handler(target.application, self.request)
                handler._transforms = []
                handler._counted = self.counted  # the handler's on_finish releases the request
                self.counted = False
                handler._handle_request_exception(e)  # logged, and a 500 page as Tornado sends one
            except Exception:
                app_log.error("Exception in exception handler", exc_info=True)
        else:
            self.on_connection_close()

    def _write(self, response: Response) -> None:
        status = response.status
        pairs, body = framing(response)
        connection = self.request.connection
        assert connection is not None
        connection.set_close_callback(None)  # type: ignore[attr-defined]
        connection.write_headers(ResponseStartLine("", status, reason(status)), self._headers(pairs), body)
        connection.finish()

    async def _stream(self, response: Response) -> None:
        """A streamed answer, chunked, each chunk written as it comes; stopped at once when the
        client goes."""
        pairs, _ = framing(response)
        connection = self.request.connection
        assert connection is not None
        task = asyncio.current_task()
        assert task is not None
        connection.set_close_callback(task.cancel)  # type: ignore[attr-defined]
        try:
            start = ResponseStartLine("", response.status, reason(response.status))
            connection.write_headers(start, self._headers(pairs))
            if await _pump(response, connection.write):
                connection.set_close_callback(None)  # type: ignore[attr-defined]
                connection.finish()
        finally:
            self.on_connection_close()

    def _headers(self, pairs: list[tuple[str, str]]) -> HTTPHeaders:
        headers = HTTPHeaders()
        headers["Server"] = self.target.server
        headers["Date"] = http_date()
        for name, value in pairs:  # names are unique but for Set-Cookie
            if name == "Set-Cookie":
                headers.add(name, _header_value(value))
            else:
                headers[name] = _header_value(value)
        return headers


class _CoreTarget(Router_):
    """The rule target of the API on an application the adaptor made: a :class:`_CoreDelegate`
    per request."""

    def __init__(self, application: Application, handler: type[_CoreHandler]):
        self.application = application
        self.handler = handler
        self.router = handler.router
        self.state = handler.state
        self.limit = handler.limit
        self.server = handler.server

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> HTTPMessageDelegate | None:
        app = self.application
        settings = app.settings
        changed = settings.get("log_function") is not _no_access_log or settings.get("cross_origin_protection")
        if changed or app.transforms:
            # the app was changed after the adaptor made it: a RequestHandler applies those changes
            return app.get_handler_delegate(request, self.handler)
        return _CoreDelegate(self, request)


class _CoreExecutor(Executor):
    """The core's thread pool, looked up per call (it is re-created in forked workers)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        from utilmeta.core.api.handler import _get_executor

        return _get_executor().submit(fn, *args, **kwargs)


def _below(app: Callable[..., Any], prefix: str) -> Callable[..., Any]:
    """The WSGI app seeing ``prefix`` in SCRIPT_NAME, the rest of the path in PATH_INFO."""

    def mounted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return app(mounted_environ(environ, prefix), start_response)

    return mounted


def _mount_rules(mounts: Iterable[tuple[Any, str]]) -> list[Rule]:
    table = MountTable(mounts)
    if not table:
        return []
    from tornado.wsgi import WSGIContainer

    executor = _CoreExecutor()
    rules = []
    for prefix, app in table.entries:
        container = WSGIContainer(_below(app, prefix), executor=executor)
        matcher = PathMatches(re.escape(prefix) + r"(?:/.*)?$" if prefix else r".*$")
        rules.append(Rule(matcher, FallbackHandler, {"fallback": container}))
    return rules


def _server_header(tokens: bool) -> str:
    # Tornado's own Server header; its version only when Preference(server_tokens=True)
    return f"TornadoServer/{tornado.version}" if tokens else "TornadoServer"


def _no_access_log(handler: RequestHandler) -> None:
    pass


class TornadoServerAdaptor(ServerAdaptor):
    name = "tornado"

    def __init__(self, service: Any, app: Any = None):
        super().__init__(service, app)
        self._app: Application | None = None
        self._state = _State(self.lifecycle)

    @classmethod
    def accepts(cls, app: Any) -> bool:
        return isinstance(app, Application)

    def check_mount(self, app: Any, route: str) -> None:
        if is_asgi_app(app):
            raise SetupError(
                f"service.mount({app!r}, {route!r}): tornado serves mounted WSGI apps only; "
                f"mount an ASGI app on starlette, fastapi or an asynchronous django service"
            )

    def rule(self) -> Rule:
        """The rule serving the API paths, for an application of the user's own making
        (``API.__as__(tornado, route)``): other paths fall through to its other rules."""
        return Rule(_APIPaths(self.service.router), self._handler())

    def _handler(self) -> type[_CoreHandler]:
        router = self.service.router
        handler: type[_CoreHandler] = stream_request_body(
            type(
                "UtilMetaHandler",
                (_CoreHandler,),
                {
                    "router": router,
                    "state": self._state,
                    "limit": self.max_body_size,
                    "server": f"TornadoServer/{tornado.version}"
                    if self.service.preference.server_tokens
                    else "TornadoServer",
                },
            )
        )
        return handler

    def application(self) -> Application:
        if self._app is not None:
            return self._app
        router = self.service.router
        handler = self._handler()
        # the API first, then the mounted apps, then (the core's 404) everything else
        mounts = _mount_rules(self.service.mounts)
        app = self.app
        if app is None:
            app = Application(
                debug=not self.service.production,
                autoreload=False,  # `debug` alone would turn it on, on no loop yet: run() starts it
                log_function=_no_access_log,  # the core logs requests
            )
            # no user settings, transforms or access log here: API requests skip the RequestHandler
            target = _CoreTarget(app, handler)
            rules = [Rule(_APIPaths(router), target), *mounts] if mounts else []
            app.default_router.add_rules([*rules, Rule(AnyMatches(), target)])
        else:
            app.default_router.rules[:0] = [Rule(_APIPaths(router), handler), *mounts]
            # the core's 404 where no rule matches, as on every backend, unless the app has its own
            app.settings.setdefault("default_handler_class", handler)
        self._app = app
        return app

    def run(self, **kwargs: Any) -> None:
        app = self.application()
        host = kwargs.pop("host", self.service.host)
        port = kwargs.pop("port", self.service.port)
        listen: dict[str, Any] = {k: kwargs.pop(k) for k in ("family", "backlog", "flags", "reuse_port") if k in kwargs}
        # X-Forwarded-* are the core's to read, from trusted proxies only
        kwargs.setdefault("xheaders", False)
        kwargs.setdefault("max_body_size", max(_DEFAULT_MAX_BODY, self.max_body_size + 1))
        kwargs.setdefault("max_header_size", self.service.router.ctx.limits.max_header_size)
        asyncio.run(self._serve(app, host, port, listen, kwargs))

    async def _serve(
        self, app: Application, host: str, port: int, listen: dict[str, Any], options: dict[str, Any]
    ) -> None:
        from tornado.httpserver import HTTPServer
        from tornado.netutil import bind_sockets

        await self.lifecycle.astartup()
        if self.service.auto_reload:
            from tornado import autoreload

            autoreload.start()  # re-executes the process when a module changes
        server = HTTPServer(app, **options)
        stopping = asyncio.Event()
        try:
            # server.listen() in two steps: the bound sockets name the port (for port 0 too)
            sockets = bind_sockets(port, address=host, **listen)
            server.add_sockets(sockets)
            _on_signals(stopping.set)
            self.announce(sockets[0].getsockname()[1] if sockets else None)
            await stopping.wait()
        finally:
            server.stop()  # no new connections
            await self._state.drain(_DRAIN_TIMEOUT)
            await server.close_all_connections()
            await self.lifecycle.ashutdown()


def _on_signals(callback: Any) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, callback)
        except NotImplementedError:  # Windows
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(callback))
