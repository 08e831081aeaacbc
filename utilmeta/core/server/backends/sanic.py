"""The Sanic backend: one streaming catch-all route on a ``Sanic`` app.

Every request no route of the app claims reaches :func:`_make_handler`'s handler, which builds
the core's :class:`~utilmeta.core.request.Request` and answers with the core's response as is.
The route streams its body, so Sanic neither reads nor size-checks it: the core reads it only
when the endpoint needs it, after checking ``Content-Length`` against its own limit (a 413 from
the core, never from Sanic). Hooks run in Sanic's ``before_server_start`` /
``after_server_stop`` listeners: once per worker process, under ``app.run()``, the ``sanic``
command and ASGI servers alike.

On an app the adaptor makes itself, once the server (or the ASGI lifespan) starts with nothing
of the user's added to it (no route, middleware, ``http.*`` signal or access log), requests skip
Sanic's router, ``HTTPResponse`` and header multidicts: :class:`_App` hands them to the core and
writes its answer to the connection's stream (:func:`_make_direct`), the same bytes as the route
would send. Anything the user adds keeps every request on Sanic's ordinary path.
"""

from __future__ import annotations

import importlib
import re
import signal
import sys
import time
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from sanic import Sanic
from sanic.asgi import ASGIApp
from sanic.compat import Header
from sanic.exceptions import BadURL, PayloadTooLarge, SanicException
from sanic.headers import format_http1_response
from sanic.http import Http, Stage
from sanic.request import Request as SanicRequest
from sanic.response import HTTPResponse
from sanic.server.socket import bind_socket

from utilmeta.core.request import Request
from utilmeta.core.request.request import Headers, HeaderSource, fold
from utilmeta.core.request.wire import screen_head
from utilmeta.core.response.wire import framing, http_date
from utilmeta.core.server.backends.asgi import send_asgi
from utilmeta.core.server.backends.base import ServerAdaptor
from utilmeta.core.server.backends.paths import unquote_path
from utilmeta.utils.exceptions import BadRequest, RequestEntityTooLarge, SetupError

if TYPE_CHECKING:
    from utilmeta.core.api.router import Router
    from utilmeta.core.response import Response

__all__ = ["SanicServerAdaptor"]

#: every method Sanic's router accepts; the core answers 405/OPTIONS/HEAD itself
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_APP_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_\-]*$")
_CLEAN = str.maketrans("", "", "\r\n\x00")  # no header injection, as Sanic's own responses
#: the wire form of response header names, by their str
_NAMES: dict[str, bytes] = {}
#: apps this module created (by name), which a later service in the same process may replace
_OWN_APPS: dict[str, Sanic] = {}


class _CoreResponse(HTTPResponse):
    """The core's response, sent as is: ``HTTPResponse`` would add ``content-type: None`` to a
    response without one (a 200 with no body), and in debug mode an empty ``alt-svc``."""

    __slots__ = ()

    def __init__(self, body: bytes, status: int, headers: list[tuple[str, str]]):
        # HTTPResponse.__init__ builds a Header twice (its own and BaseHTTPResponse's): one is enough
        self.asgi = False
        self.body = body
        self.content_type = None
        self.stream = None
        self.status = status
        self.headers = Header(headers)
        self._cookies = None

    @property
    def processed_headers(self) -> Any:
        # Sanic adds content-length (as an int), connection and an empty alt-svc
        return _wire_headers(
            (name, value if isinstance(value, str) else f"{value}")
            for name, value in self.headers.items()
            if value != "" or name != "alt-svc"
        )


def _clean(text: str) -> str:
    # translate() copies the string; almost no header has anything to remove
    if "\r" in text or "\n" in text or "\x00" in text:
        return text.translate(_CLEAN)
    return text


class _SanicHeaders(HeaderSource):
    """A Sanic request's headers (a case-insensitive multidict, names lower-cased by Sanic)."""

    __slots__ = ("native",)

    def __init__(self, native: Any):
        self.native = native

    def get(self, name: str) -> str | None:
        value = fold(name, self.native.getall(name, None))
        return value if value is None or value.isascii() else _latin1(value)

    def build(self) -> Headers:
        # plain str names: multidict's istr is no dict key to msgspec
        return Headers.from_pairs(
            (str(key), value if value.isascii() else _latin1(value)) for key, value in self.native.items()
        )


def _latin1(value: str) -> str:
    # Sanic decodes header bytes as UTF-8 (surrogates for the rest); WSGI, ASGI and Tornado
    # give them as latin-1: the same bytes must read the same on every backend
    return value.encode("utf-8", "surrogateescape").decode("latin-1")


def _core_request(request: Any, max_header_size: int) -> Request:
    core = _translate(request)
    # Sanic lets malformed header lines and control characters through: the core refuses them
    core.refusal = screen_head(request.head, max_header_size)
    return core


def _translate(request: Any) -> Request:
    headers = _SanicHeaders(request.headers)
    path = unquote_path(request.path)
    stream = request.stream
    conn = request.conn_info
    if stream is None or not stream.request_body:  # no body to come: nothing to read later
        return Request(
            request.method,
            path,
            request.query_string,
            headers,
            body=b"",
            client_addr=conn.client_ip if conn else "",
            scheme="https" if conn and conn.ssl else "http",
            server_host=conn.server if conn else "",
            native=request,
        )

    async def areader(limit: int) -> bytes:
        chunks = []
        size = 0
        try:
            while stream is not None and stream.request_body:
                chunk = await stream.read()
                if chunk is None:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    break  # the core answers 413
        except PayloadTooLarge as e:
            raise RequestEntityTooLarge(str(e)) from None
        except SanicException as e:  # malformed chunked encoding and the like
            raise BadRequest(str(e)) from None
        return b"".join(chunks)

    return Request(
        request.method,
        path,
        request.query_string,
        headers,
        areader=areader,
        client_addr=conn.client_ip if conn else "",
        scheme="https" if conn and conn.ssl else "http",
        server_host=conn.server if conn else "",
        native=request,
    )


async def _drain(stream: Any, limit: int) -> None:
    # Sanic logs "body not consumed" after a 2xx whose streamed body was left unread
    size = 0
    try:
        while stream.request_body and size <= limit:
            chunk = await stream.read()
            if chunk is None:
                break
            size += len(chunk)
    except SanicException:
        pass  # Sanic drops the connection after the response


def _make_handler(router: Router, limit: int) -> Any:
    acall = router.acall
    max_header_size = router.ctx.limits.max_header_size

    async def utilmeta_handler(request: Any, path: str = "") -> HTTPResponse | None:
        response: Response = await acall(_core_request(request, max_header_size))
        if response.status < 300:
            stream = request.stream
            if stream is not None and stream.request_body:
                await _drain(stream, limit)
        if response.stream is not None:
            await _respond_stream(request, response)
            return None
        # with a Content-Length: Sanic's ASGI mode sends none of its own
        headers, body = framing(response)
        if not isinstance(request.stream, ASGIApp):  # Sanic's own server sends no Date; ASGI servers do
            headers.append(("Date", http_date()))
        return _CoreResponse(body, response.status, headers)

    return utilmeta_handler


async def _respond_stream(request: Any, response: Response) -> None:
    """A streamed answer through Sanic's own streaming response (it cancels the handler when
    the client goes; the generator is closed either way)."""
    headers, _ = framing(response)
    if not isinstance(request.stream, ASGIApp):
        headers.append(("Date", http_date()))
    native = await request.respond(status=response.status, headers=headers)
    assert response.stream is not None
    chunks = response.stream.achunks()
    try:
        async for chunk in chunks:
            await native.send(chunk)
        await native.eof()
    finally:
        await chunks.aclose()


_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_KEEP_ALIVE = (b"connection", b"keep-alive")
_CLOSE = (b"connection", b"close")


def _wire_headers(pairs: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    names = _NAMES
    out = []
    for name, value in pairs:
        key = names.get(name)
        if key is None:
            key = _clean(name).encode("ascii")
            if len(names) < 512:  # names come from code; the bound only guards against misuse
                names[name] = key
        out.append((key, _clean(value).encode(errors="surrogateescape")))
    return out


def _make_direct(router: Router) -> dict[type, Any]:
    """The request paths of an app with no routes, middleware or HTTP signals but the
    adaptor's own, by the kind of the request's stream. On Sanic's HTTP/1 server the core's
    answer is written to the connection's ``Http`` stream as Sanic's own response writer would
    (status line, keep-alive, HEAD, 100-continue, then the stage the connection loop expects);
    in ASGI mode it goes to the ASGI server as the ASGI backends send it. Neither takes Sanic's
    router, response objects and header multidicts, which would only carry it there."""
    acall = router.acall
    max_header_size = router.ctx.limits.max_header_size

    async def http1(request: Any, http: Any) -> None:  # a sanic.http.Http
        if http.request_body:
            http.request_max_size = float("inf")  # the core checks the size (413), as on a stream route
        response: Response = await acall(_core_request(request, max_header_size))
        status = response.status
        pairs, body = framing(response)
        pairs.append(("Date", http_date()))
        stream = response.stream
        chunked = stream is not None and stream.length is None
        if chunked:
            pairs.append(("Transfer-Encoding", "chunked"))
        headers = _wire_headers(pairs)
        headers.append(_KEEP_ALIVE if http.keep_alive else _CLOSE)
        data = format_http1_response(status, headers)
        if body:  # HEAD: the core has emptied the body already
            data += body
        if http.expecting_continue:  # the body was never read
            http.expecting_continue = False
            if status != 417:
                data = _CONTINUE + data
        # what is left of a body the core did not read, Sanic's connection loop reads (up to
        # REQUEST_MAX_SIZE) or drops the connection for
        http.response_func = None
        await http._send(data)
        if stream is not None:  # Sanic cancels this task when the client goes
            chunks = stream.achunks()
            try:
                async for chunk in chunks:
                    await http._send(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
                if chunked:
                    await http._send(b"0\r\n\r\n")
            finally:
                await chunks.aclose()
        http.stage = Stage.IDLE

    async def asgi(request: Any, stream: Any) -> None:  # a sanic.asgi.ASGIApp
        response: Response = await acall(_core_request(request, max_header_size))
        stream.stage = Stage.IDLE
        await send_asgi(response, stream.transport.send, stream.transport.receive)

    return {Http: http1, ASGIApp: asgi}


class _Request(SanicRequest):
    """Sanic's request for a target its URL parser refuses (a raw NUL, a space): made with the
    offending bytes percent-encoded, so the core sees the request and refuses it with its own
    400 (its raw head still holds them). Sanic's own answer to such a target fails while it
    builds it, and the client gets nothing but a closed connection."""

    __slots__ = ()

    def __init__(self, url_bytes: bytes, *args: Any, **kwargs: Any):
        try:
            super().__init__(url_bytes, *args, **kwargs)
        except BadURL:
            super().__init__(_quote_target(url_bytes), *args, **kwargs)


def _quote_target(target: bytes) -> bytes:
    return b"".join(b"%%%02X" % byte if byte <= 0x20 or byte >= 0x7F else bytes((byte,)) for byte in target)


class _App(Sanic):
    """The Sanic app the adaptor creates. Once the server starts (or the ASGI lifespan), a
    request goes straight to the core (:func:`_make_direct`) while nothing else was added to
    the app: no route, middleware or HTTP signal of its own, no access log. Otherwise (and on
    HTTP/3) it takes Sanic's ordinary path to the catch-all routes."""

    __slots__ = ("utilmeta_direct",)
    utilmeta_direct: Any

    async def handle_request(self, request: Any) -> None:
        direct = self.utilmeta_direct
        if direct is not None:
            stream = request.stream
            serve = direct.get(stream.__class__)
            if serve is not None:
                await serve(request, stream)
                return
        await super().handle_request(request)


def _plain(app: Sanic, handler: Any) -> bool:
    """Whether ``app`` holds nothing but the adaptor's routes: no other route, middleware,
    HTTP signal or access log that Sanic's own request path would serve."""
    if app.config.ACCESS_LOG:
        return False
    if any(route.handler is not handler for route in app.router.routes):
        return False
    if app.request_middleware or app.response_middleware:
        return False
    if app.named_request_middleware or app.named_response_middleware:
        return False
    return not any(str(signal.name).startswith("http.") for signal in app.signal_router.routes)


def _logging_configured(service: Any) -> bool:
    module = sys.modules.get("utilmeta.conf.logging")  # loaded where a Logging config exists
    return module is not None and service.get_config(module.Logging) is not None


def _app_name(name: str) -> str:
    if _APP_NAME.match(name):
        return name
    name = re.sub(r"[^a-zA-Z0-9_\-]", "_", name)
    return name if _APP_NAME.match(name) else f"utilmeta_{name}"


class _MainStop:
    """How Sanic's main process (``workers > 1``) stops on SIGTERM or SIGINT: installed before
    ``Sanic.serve()``, and again by :meth:`attach` (its ``main_process_ready`` listener) in
    place of the worker manager's handlers.

    The manager's own handler stops the workers from inside the signal handler, and two of its
    cases never end: a signal before every worker has acknowledged its start makes it wait for
    acknowledgements by re-sending its shutdown message to itself in a busy loop (a stopped
    worker never acknowledges; sanic-org/sanic#2997), and a signal interrupting one of its
    calls to the shared worker state makes a second call on the same connection. Before the
    manager exists, a signal ends the process halfway through its setup; and a worker
    acknowledges before it installs its own signal handlers (ignoring stop signals meanwhile),
    so one stopped then serves on. Here the handler only records the signal; once every worker
    serves or has exited, the stop request goes through the manager's monitor pipe
    (``__TERMINATE__``, what Sanic's inspector sends), which the manager reads in its loop and
    stops the workers there. A second signal kills the workers, as a second one does in Sanic
    (before they exist: KeyboardInterrupt).
    """

    STOPS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.manager: Any = None
        self.signal: int | None = None
        self.ready = False
        self.previous = {signum: signal.signal(signum, self.handle) for signum in self.STOPS}

    def attach(self, app: Sanic) -> None:
        manager = self.manager = app.manager
        wait_for_ack = manager.wait_for_ack

        def wait_then_stop() -> None:
            deadline = time.monotonic() + manager.THRESHOLD / 10  # Sanic's own bound on the ack
            while not self._settled() and time.monotonic() < deadline:
                time.sleep(0.01)
            if self.signal is None:  # a worker that failed to start: Sanic's own handling
                wait_for_ack()
            self.ready = True
            if self.signal is not None:
                self.request()

        manager.wait_for_ack = wait_then_stop  # type: ignore[method-assign]
        for signum in self.STOPS:  # the manager installed its own when it was created
            signal.signal(signum, self.handle)

    def _settled(self) -> bool:
        """Whether every worker serves (acknowledged, its signal handlers in place) or has
        exited (a Ctrl-C reaches the workers too, and one still starting ends there)."""
        alive = {process.name for process in self.manager.processes if process.is_alive()}
        return all(
            state.get("serving") or name not in alive
            for name, state in self.manager.worker_state.items()
            if state.get("server")
        )

    def handle(self, signum: int, frame: Any) -> None:
        if self.signal is not None:
            if self.manager is None:
                raise KeyboardInterrupt
            self.manager.kill()  # raises ServerKilled: Sanic.serve() exits with status 1
        self.signal = signum
        if self.ready:
            self.request()

    def request(self) -> None:
        from sanic.log import logger

        logger.info("Received signal %s. Shutting down.", signal.Signals(self.signal or signal.SIGTERM).name)
        self.manager.monitor_publisher.send("__TERMINATE__")

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def _worker_app(module_name: str, app_name: str) -> Sanic:
    """The app in a Sanic worker process (spawned: the service module was imported afresh)."""
    from utilmeta.conf._lookup import current_service as get_service  # the slot UtilMeta(...) fills

    service = get_service()
    if service is None and module_name not in ("__main__", "__mp_main__"):
        importlib.import_module(module_name)
        service = get_service()
    if service is not None:
        app: Sanic = service.application()
        return app
    return Sanic.get_app(app_name)


class SanicServerAdaptor(ServerAdaptor):
    name = "sanic"

    def __init__(self, service: Any, app: Any = None):
        super().__init__(service, app)
        self._app: Sanic | None = None

    @classmethod
    def accepts(cls, app: Any) -> bool:
        return isinstance(app, Sanic)

    def check_mount(self, app: Any, route: str) -> None:
        raise SetupError(
            f"service.mount({app!r}, {route!r}): sanic cannot serve a foreign app; mount it on a "
            f"WSGI/ASGI backend (flask, django, starlette, fastapi), or mount an API class"
        )

    def application(self) -> Sanic:
        if self._app is not None:
            return self._app
        service = self.service
        router = service.router
        limit = self.max_body_size
        app = self.app
        if app is None:
            app = self._new_app()
        # Sanic reads what the core left of a refused body up to this size (keeping the
        # connection), and drops the connection beyond it
        if app.config.REQUEST_MAX_SIZE < limit:
            app.config.REQUEST_MAX_SIZE = limit
        handler = _make_handler(router, limit)
        # streamed: the core reads the body only when the endpoint needs it; the app's own
        # routes are matched first (a parameter route ranks below every other route)
        # the app's own "/" keeps the methods it declares (Sanic refuses a second route for them)
        taken = {m for route in app.router.routes if route.path in ("", "/") for m in route.methods}
        if "GET" in taken:
            taken.add("HEAD")
        root_methods = [m for m in _METHODS if m not in taken]
        if root_methods:
            app.add_route(handler, "/", methods=root_methods, stream=True, name="utilmeta_root")
        app.add_route(handler, "/<path:path>", methods=_METHODS, stream=True, strict_slashes=False, name="utilmeta")

        async def start(_app: Any) -> None:
            if isinstance(app, _App):
                app.utilmeta_direct = _make_direct(router) if _plain(app, handler) else None
            await self.lifecycle.astartup()

        async def stop(_app: Any) -> None:
            await self.lifecycle.ashutdown()

        app.register_listener(start, "before_server_start")
        app.register_listener(stop, "after_server_stop")
        self._app = app
        return app

    def _new_app(self) -> Sanic:
        name = _app_name(self.service.name)
        try:
            existing: Sanic | None = Sanic.get_app(name)
        except SanicException:  # none of that name
            existing = None
        if existing is not None:
            if _OWN_APPS.get(name) is not existing:
                raise SetupError(
                    f"a Sanic app named {name!r} already exists in this process: pass it as "
                    f"UtilMeta(backend=app) or give the service another name"
                )
            Sanic.unregister_app(existing)  # left by an earlier service of this process
        # Sanic's own log handlers only where no Logging config decides the format (one format,
        # one line per record, on every backend)
        app = _App(name, request_class=_Request, configure_logging=not _logging_configured(self.service))
        app.utilmeta_direct = None
        app.config.MOTD = False  # the banner of service.run() says it; run(motd=True) brings it back
        _OWN_APPS[name] = app
        return app

    def run(self, **kwargs: Any) -> None:
        app = self.application()
        service = self.service
        kwargs.setdefault("host", service.host)
        kwargs.setdefault("port", service.port)
        kwargs.setdefault("debug", not service.production)
        kwargs.setdefault("access_log", False)
        kwargs.setdefault("motd", False)
        kwargs.setdefault("auto_reload", service.auto_reload)
        # Sanic's worker manager (a main process, a process for the shared worker state, the
        # workers) only when it is needed; its stop signals go through _MainStop
        managed = kwargs.get("workers", 1) > 1 or any(kwargs.get(k) for k in ("auto_reload", "dev", "fast"))
        single = kwargs.setdefault("single_process", not managed)
        self.announce(_bind(kwargs))
        app.prepare(**kwargs)  # app.run(), with a loader for the workers:
        if single:
            Sanic.serve_single(primary=app)
        else:
            from sanic.worker.loader import AppLoader

            # spawned workers import the service module afresh: this finds the app there even
            # when the module does not build it at import time
            loader = AppLoader(factory=partial(_worker_app, service.module_name, app.name))
            stop = _MainStop()
            app.register_listener(stop.attach, "main_process_ready")
            try:
                Sanic.serve(primary=app, app_loader=loader)
            finally:
                stop.restore()


def _bind(options: dict[str, Any]) -> int | None:
    """Bind the TCP socket Sanic would bind in its main process, into ``options['sock']``, and
    return its port (the one the system picked for port 0); the workers serve on it as on
    Sanic's own. None where Sanic is handed its socket or binds none (a UNIX socket, HTTP/3)."""
    if options.get("sock") is not None or options.get("unix") or options.get("version") in (3, "3"):
        return None
    sock = bind_socket(options.pop("host"), options.pop("port"), backlog=options.get("backlog", 100))
    options["sock"] = sock
    return int(sock.getsockname()[1])
