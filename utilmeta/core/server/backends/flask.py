"""Flask backend: the service in front of a ``Flask`` app's WSGI callable.

``application()`` returns the app the user passed as ``backend=`` (or a new one) with a thin
WSGI dispatcher installed as ``app.wsgi_app``: API paths (``router.match``) go straight to the
core; other paths to the WSGI apps of ``service.mount()`` under their prefix, else to Flask —
except paths Flask has no rule for either, which get the core's 404 (unless the app registered
its own 404 handler). WSGI middleware the user wraps around ``app.wsgi_app`` afterwards wraps
both.

An asynchronous service runs ``router.acall`` on an event loop kept per worker thread.
Startup hooks run before the first request in each worker process (or before serving, under
``run()``); shutdown hooks at exit, or when ``run()`` stops on Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import weakref
from collections.abc import Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.serving import WSGIRequestHandler

from utilmeta.core.server.backends.base import ServerAdaptor
from utilmeta.core.server.backends.paths import MountTable, mounted_environ, wsgi_path
from utilmeta.core.server.backends.wsgi import (
    CORE_ANSWERED,
    StartResponse,
    WSGIApp,
    request_from_environ,
    send_wsgi,
)

if TYPE_CHECKING:
    import asyncio

__all__ = ["FlaskServerAdaptor", "FlaskDispatcher"]

WSGICallable = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _ThreadLoop(threading.local):
    loop: asyncio.AbstractEventLoop | None = None


_thread_loop = _ThreadLoop()


def run_on_thread_loop(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` on this thread's event loop, created on the thread's first use and closed
    when the thread is gone (servers that start a thread per request still get one loop per
    thread, not one per call)."""
    loop = _thread_loop.loop
    if loop is None:
        import asyncio  # only an asynchronous service needs it

        loop = _thread_loop.loop = asyncio.new_event_loop()
        weakref.finalize(threading.current_thread(), loop.close)
    return loop.run_until_complete(coro)


class FlaskDispatcher(WSGIApp):
    """``app.wsgi_app``: the core for API paths, Flask's own WSGI callable for the rest."""

    def __init__(self, service: Any, flask_app: Flask, wsgi_app: WSGICallable):
        super().__init__(service)
        self.flask = flask_app
        self.wsgi_app = wsgi_app
        self.match = self.router.match
        self.asynchronous = bool(service.asynchronous)
        self.mounts = MountTable(service.mounts)

    def start(self) -> None:
        """Run the startup hooks now, if this process has not run them yet."""
        if not self.lifecycle.started:
            self.lifecycle.start(run_on_thread_loop if self.asynchronous else None)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not self.lifecycle.started:
            self.start()
        found = self.match(wsgi_path(environ))
        if found is None:
            mount = self.mounts.find(environ.get("PATH_INFO") or "/") if self.mounts else None
            if mount is not None:
                return mount[1](mounted_environ(environ, mount[0]), start_response)
            if self._flask_serves(environ):
                return self.wsgi_app(environ, start_response)
        environ[CORE_ANSWERED] = True  # the core logs its access line: werkzeug's is left out
        request = request_from_environ(environ)
        if self.asynchronous:
            response = run_on_thread_loop(self.router.acall(request, found))
        else:
            response = self.router(request, found)
        return send_wsgi(response, start_response)

    def _flask_serves(self, environ: dict[str, Any]) -> bool:
        """Whether Flask answers this non-API path: it has a rule for it, or handles 404s."""
        app = self.flask
        spec = app.error_handler_spec.get(None)
        if spec and (spec.get(404) or spec.get(None)):
            return True
        try:
            app.url_map.bind_to_environ(environ).match()
        except NotFound:
            return False
        except Exception:  # a redirect, 405, ...: Flask's to answer
            return True
        return True


class FlaskServerAdaptor(ServerAdaptor):
    name = "flask"

    _native: Flask | None = None
    _dispatcher: FlaskDispatcher | None = None

    @classmethod
    def accepts(cls, app: Any) -> bool:
        return isinstance(app, Flask)

    def application(self) -> Flask:
        if self._native is not None:
            return self._native
        service = self.service
        if self.app is None:
            root = os.path.dirname(service.module_file) if service.module_file else None
            # Flask's debug mode (its debugger, its reloader) only when asked: FLASK_DEBUG=1,
            # app.debug = True on the app passed as backend=, or run(debug=True)
            app = Flask(service.name, root_path=root)
        else:
            app = self.app
        if service.production:
            app.debug = False
        self._dispatcher = FlaskDispatcher(service, app, app.wsgi_app)
        app.wsgi_app = self._dispatcher  # type: ignore[method-assign]
        self._native = app
        return app

    def listen_address(self, options: dict[str, Any]) -> tuple[str, int] | None:
        if os.environ.get("WERKZEUG_RUN_MAIN") == "true":
            return None  # werkzeug's reloader child: its parent holds the socket and hands it over
        return super().listen_address(options)

    def run(self, **kwargs: Any) -> None:
        app = self.application()
        assert self._dispatcher is not None
        host = kwargs.pop("host", self.service.host)
        port = kwargs.pop("port", self.service.port)
        debug = kwargs.pop("debug", app.debug and not self.service.production)
        # werkzeug's reloader re-runs this script in a child process; only when asked
        reloader = kwargs.setdefault("use_reloader", self.service.auto_reload)
        child = os.environ.get("WERKZEUG_RUN_MAIN") == "true"
        # port 0 without the reloader: the server is made here, so the banner names its port
        own_server = not port and not reloader and not child and set(kwargs) <= {"use_reloader", "threaded"}
        if not child and not own_server:
            print(self.service.banner(), flush=True)
        serving = child or not reloader
        if serving:
            self._dispatcher.start()
        previous = None
        if serving and threading.current_thread() is threading.main_thread():
            # SIGTERM would kill the process without a shutdown: stop serving like Ctrl-C does
            previous = signal.signal(signal.SIGTERM, _interrupt)
        kwargs.setdefault("request_handler", _request_handler(self))
        werkzeug_log = logging.getLogger("werkzeug")
        werkzeug_log.addFilter(_PLAIN_TEXT)
        try:
            if own_server:
                self._serve(app, host, debug, kwargs)
            else:
                app.run(host, port, debug=debug, **kwargs)
        finally:
            werkzeug_log.removeFilter(_PLAIN_TEXT)
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            if serving:
                self.lifecycle.shutdown()

    def _serve(self, app: Any, host: str, debug: bool, options: dict[str, Any]) -> None:
        """What ``app.run`` does for a port the system picks, with the server made first: Werkzeug
        binds port 0 inside ``run_simple``, past the banner; here the banner names the port."""
        from werkzeug.serving import make_server

        served = app
        if debug:  # as app.run(debug=True): the interactive debugger, trusting the address served
            from werkzeug.debug import DebuggedApplication

            app.debug = True
            served = DebuggedApplication(app, evalex=True)
            served.trusted_hosts.append(host)
        from flask.cli import show_server_banner

        server = make_server(
            host, 0, served, threaded=options.get("threaded", True), request_handler=options["request_handler"]
        )
        self.announce(server.port)
        show_server_banner(debug, app.name)  # Flask's own start lines, as app.run prints them
        server.log_startup()
        server.serve_forever()  # returns on Ctrl-C (or SIGTERM, made one), the socket closed


class _PlainText(logging.Filter):
    """Werkzeug's log lines without the terminal colour codes it writes into them whatever the
    destination: a log file gets plain text, the same as on every other backend."""

    _codes = re.compile(r"\x1b\[[0-9;]*m")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "\x1b[" in message:
            record.msg, record.args = self._codes.sub("", message), ()
        return True


_PLAIN_TEXT = _PlainText()


def _request_handler(adaptor: FlaskServerAdaptor) -> type[WSGIRequestHandler]:
    """Werkzeug's request handler for ``run()``, leaving a request the core answered to the
    core's access line (``utilmeta.access``) when that line is logged: one line per request.
    Requests Flask or a mounted app answers keep Werkzeug's own line."""

    class RequestHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            environ = getattr(self, "environ", None) or {}
            if environ.get(CORE_ANSWERED) and adaptor.logs_access:
                return
            super().log_request(code, size)

    return RequestHandler


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
