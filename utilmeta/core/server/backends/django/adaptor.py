"""The django backend: ``UtilMeta(__name__, backend=django, ...)``.

``application()`` is Django's own ``WSGIHandler`` (``ASGIHandler`` when asynchronous) answering
API paths with the core before Django's URL resolver (see :mod:`.handlers`); ``run()`` serves it
with Django's development server (``runserver``), or with uvicorn when asynchronous. A service
that uses no ``DjangoSettings`` gets the default one at ``service.setup()``.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

from utilmeta.conf.base import Config
from utilmeta.core.orm.backends.django import setup_order
from utilmeta.core.server.backends.base import ServerAdaptor
from utilmeta.core.server.backends.wsgi import CORE_ANSWERED
from utilmeta.utils.exceptions import SetupError

if TYPE_CHECKING:
    from utilmeta.core.server.service import UtilMeta

__all__ = ["DjangoServerAdaptor"]


class DefaultDjangoSettings(Config):
    """Stands in for ``DjangoSettings`` on a django service that uses none: Django is set up
    with the defaults at ``service.setup()`` (a ``DjangoSettings`` used later takes over)."""

    def setup(self, service: UtilMeta) -> None:
        from utilmeta.core.server.backends.django.settings import ensure_settings

        ensure_settings(service)

    def __repr__(self) -> str:
        return "DefaultDjangoSettings()"


class DjangoServerAdaptor(ServerAdaptor):
    name = "django"

    def __init__(self, service: UtilMeta, app: Any = None):
        super().__init__(service, app)
        self._application: Any = None
        # the service's setup() must set Django up even when no DjangoSettings is used, before
        # the root API (and the models it imports) is loaded; only a config can run there
        service.configs.setdefault(DefaultDjangoSettings, DefaultDjangoSettings())
        setup_order.guard(service)  # a model imported before setup() names itself and the service

    @classmethod
    def accepts(cls, app: Any) -> bool:
        from django.core.handlers.asgi import ASGIHandler
        from django.core.handlers.wsgi import WSGIHandler

        return isinstance(app, WSGIHandler | ASGIHandler)

    def check(self) -> None:
        service = self.service
        if self.app is not None:
            from django.core.handlers.asgi import ASGIHandler

            if isinstance(self.app, ASGIHandler) and not service.asynchronous:
                raise SetupError("backend= is a Django ASGIHandler: pass asynchronous=True to UtilMeta(...)")
            if not isinstance(self.app, ASGIHandler) and service.asynchronous:
                raise SetupError(
                    "backend= is a Django WSGIHandler but the service is asynchronous: pass an ASGIHandler "
                    "(django.core.asgi.get_asgi_application()) or asynchronous=False"
                )

    def application(self) -> Any:
        if self._application is None:
            from django.urls import clear_url_caches

            from utilmeta.core.server.backends.django.handlers import (
                UtilMetaASGIHandler,
                UtilMetaWSGIHandler,
                adopt,
            )

            clear_url_caches()  # the URLconf reads this service's patterns and mounts
            if self.app is not None:
                self._application = adopt(self.app, self.service)
            elif self.service.asynchronous:
                self._application = UtilMetaASGIHandler(self.service)
            else:
                self._application = UtilMetaWSGIHandler(self.service)
        return self._application

    def run(self, **kwargs: Any) -> None:
        """Django's development server (``runserver``; kwargs: ``threading``, ``ipv6``,
        ``server_cls``, ``on_bind``), or uvicorn when asynchronous (kwargs go to ``uvicorn.run``)."""
        if self.service.asynchronous:
            self._run_asgi(**kwargs)
        else:
            self._run_wsgi(**kwargs)

    def _run_wsgi(self, **kwargs: Any) -> None:
        from django.conf import settings
        from django.core.servers.basehttp import run

        service = self.service
        handler = self.application()
        host = kwargs.pop("host", service.host)
        port = kwargs.pop("port", service.port)
        kwargs.setdefault("threading", True)
        kwargs.setdefault("ipv6", ":" in host)
        app = handler
        if settings.DEBUG and "django.contrib.staticfiles" in settings.INSTALLED_APPS:
            from django.contrib.staticfiles.handlers import StaticFilesHandler

            app = StaticFilesHandler(handler)  # as runserver does in development
        if "server_cls" not in kwargs:
            app, kwargs["server_cls"] = _one_line_per_request(self, app)

        given_on_bind = kwargs.pop("on_bind", None)

        def on_bind(bound: int) -> None:
            self.announce(bound)  # runserver's port: the one the system picked for port 0
            if given_on_bind is not None:
                given_on_bind(bound)

        def serve() -> None:
            handler._start()  # startup hooks before serving
            restore = _stop_on_sigterm()
            try:
                run(host.strip("[]"), port, app, on_bind=on_bind, **kwargs)
            except KeyboardInterrupt:
                pass
            finally:
                restore()
                self.lifecycle.shutdown()

        if service.auto_reload:
            from django.utils import autoreload

            autoreload.run_with_reloader(serve)
        else:
            serve()

    def _run_asgi(self, **kwargs: Any) -> None:
        self.run_uvicorn(self.application(), kwargs)


def _one_line_per_request(adaptor: DjangoServerAdaptor, app: Any) -> tuple[Any, type]:
    """``app`` and runserver's server class, such that runserver leaves a request the core
    answered to the core's access line when that line is logged (one line per request);
    requests Django or a mounted app answers keep runserver's own line. runserver hands the app
    a copy of the environ its request handler builds: the app's thread tells the handler."""
    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer

    answered = threading.local()  # runserver serves a connection in one thread

    def marked(environ: dict[str, Any], start_response: Any) -> Any:
        answered.core = False
        result = app(environ, start_response)
        answered.core = bool(environ.get(CORE_ANSWERED))
        return result

    class RequestHandler(WSGIRequestHandler):
        def handle_one_request(self) -> None:
            answered.core = False  # not the last request's, on a kept-alive connection
            super().handle_one_request()

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            if not (getattr(answered, "core", False) and adaptor.logs_access):
                super().log_request(code, size)

    class Server(WSGIServer):
        def __init__(self, address: Any, handler: Any, **kwargs: Any) -> None:
            super().__init__(address, RequestHandler, **kwargs)

    return marked, Server


def _stop_on_sigterm() -> Any:
    """Turn SIGTERM into KeyboardInterrupt so the server stops gracefully (shutdown hooks run)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    pid = os.getpid()

    def restore() -> None:
        if os.getpid() == pid:
            signal.signal(signal.SIGTERM, previous)

    return restore
