"""Django's WSGI/ASGI handlers, answering API paths with the UtilMeta core.

A request whose path is an API path (``router.match(path)`` is not None) is translated straight
into the core's request — before Django builds an ``HttpRequest`` or runs its middleware — so
its status, headers and body are exactly the core's, as on every backend. Django's
``request_started`` / ``request_finished`` signals are still sent, so database connections are
recycled as Django does — unless they can do nothing (only Django's own receivers, no database,
no cache closed per request: decided once, at the first request), and in an async service
only when a connection was opened in the request's context (each costs a thread hop).

Other paths go to mounted WSGI/ASGI apps, then to Django (the project's URLconf). When the
project has no URL patterns at all, every path goes to the core (its 404s).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core import signals
from django.core.cache import caches, close_caches
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import reset_urlconf
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, connections, reset_queries

from utilmeta.core.request import Request
from utilmeta.core.server.backends.asgi import Receive, Scope, Send, lifespan, request_from_scope, send_asgi
from utilmeta.core.server.backends.paths import MountTable, as_asgi, mounted_environ
from utilmeta.core.server.backends.wsgi import StartResponse, request_from_environ, send_wsgi

if TYPE_CHECKING:
    from utilmeta.core.api.router import Match
    from utilmeta.core.server.service import UtilMeta

__all__ = ["UtilMetaWSGIHandler", "UtilMetaASGIHandler", "adopt"]


def _no_django_urls() -> bool:
    """Whether the project's URLconf has no patterns (then the core answers every path)."""
    from django.urls import get_resolver

    try:
        return not get_resolver().url_patterns
    except Exception:  # a broken URLconf: let Django report it on the paths it serves
        return False


# Django's own receivers of the request signals: no-ops unless a connection or cache is open
_BUILTIN_RECEIVERS = frozenset({reset_queries, close_old_connections, close_caches, reset_urlconf})


def _foreign_receivers(signal: Any) -> bool:
    for receiver in signal.receivers:
        ref = receiver[1]
        func = ref() if isinstance(ref, weakref.ReferenceType) else ref
        if func is not None and func not in _BUILTIN_RECEIVERS:
            return True
    return False


def _signals_matter() -> bool:
    """Whether the request signals can do anything in this process: receivers other than
    Django's own, a real database, or a cache whose connections are closed per request."""
    from django.core.cache.backends.base import BaseCache
    from django.utils.module_loading import import_string

    if _foreign_receivers(signals.request_started) or _foreign_receivers(signals.request_finished):
        return True
    if any(db.get("ENGINE") != "django.db.backends.dummy" for db in connections.settings.values()):
        return True
    for cache in caches.settings.values():
        try:
            backend = import_string(cache["BACKEND"])
        except ImportError:
            return True
        if getattr(backend, "close", None) is not BaseCache.close:
            return True
    return False


def _opened() -> bool:
    """Whether a database connection or cache was opened in this thread / context."""
    return bool(connections.all(initialized_only=True) or caches.all(initialized_only=True))


class _Dispatch:
    """What both handlers need to know, bound once per application."""

    def _bind(self, service: UtilMeta) -> None:
        self._service = service
        self._router = service.router
        self._lifecycle = service.adaptor.lifecycle
        mounts = []
        for app, route in service.mounts:
            if getattr(app, "urls", None) is not None:
                continue  # a Django router: served through the URLconf
            if service.asynchronous:
                app = as_asgi(app)
            mounts.append((app, route))
        self._mounts = MountTable(mounts)
        self._all_core = False  # no Django URL patterns: the core answers what no mount does
        self._core_first = False  # ... and nothing is mounted: the core answers every path
        self._signals = True
        self._ready = False  # the first request's preparation is done
        self._start_lock = threading.Lock()
        self._astart_lock = asyncio.Lock()

    def _prepare(self) -> None:
        # after the startup hooks: they may connect signal receivers or open connections
        self._all_core = _no_django_urls()
        self._core_first = self._all_core and not self._mounts
        self._signals = _signals_matter()


class UtilMetaWSGIHandler(WSGIHandler, _Dispatch):
    """The WSGI application of a synchronous django service."""

    def __init__(self, service: UtilMeta, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._bind(service)

    def _start(self) -> None:
        """Run the startup hooks once in this worker (before its first request); shutdown hooks
        at interpreter exit."""
        with self._start_lock:
            if self._ready:
                return
            self._lifecycle.start()
            self._prepare()
            self._ready = True

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if not self._ready:
            self._start()
        request = request_from_environ(environ)
        found = None if self._core_first else self._router.match(request.path)
        if found is not None or self._core_first:
            return self._serve(request, environ, start_response, found)
        if self._mounts:
            mount = self._mounts.find(request.path)
            if mount is not None:
                return mount[1](mounted_environ(environ, mount[0]), start_response)
        if self._all_core:
            return self._serve(request, environ, start_response)
        return super().__call__(environ, start_response)

    def _serve(
        self, request: Request, environ: dict[str, Any], start_response: StartResponse, found: Match | None = None
    ) -> Iterable[bytes]:
        if not self._signals:
            return send_wsgi(self._router(request, found), start_response)
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            response = self._router(request, found)
        finally:
            signals.request_finished.send(sender=self.__class__)
        return send_wsgi(response, start_response)


async def _asend(signal: Any, **kwargs: Any) -> None:
    asend = getattr(signal, "asend", None)
    if asend is not None:
        await asend(**kwargs)
    else:  # Django < 5.0
        from asgiref.sync import sync_to_async

        await sync_to_async(signal.send, thread_sensitive=True)(**kwargs)


class UtilMetaASGIHandler(ASGIHandler, _Dispatch):
    """The ASGI application of an asynchronous django service; it also answers the lifespan
    protocol (Django's handler refuses it) with the service's startup/shutdown hooks."""

    def __init__(self, service: UtilMeta, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._bind(service)

    async def _astart(self) -> None:
        """Startup hooks for servers that send no lifespan events: before the first request."""
        async with self._astart_lock:
            if self._ready:
                return
            if not self._lifecycle.started:
                await self._lifecycle.astart()
            self._prepare()
            self._ready = True

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await lifespan(self._lifecycle, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if not self._ready:
                await self._astart()
            request = request_from_scope(scope, receive, None, self._router.ctx.limits.max_header_size)
            found = None if self._core_first else self._router.match(request.path)
            if found is not None or self._core_first:
                await self._aserve(request, scope, send, found, receive)
                return
        elif kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if self._mounts:
            mount = self._mounts.find(scope.get("path") or "/")
            if mount is not None:
                route, app = mount
                child = dict(scope)
                if route:
                    child["root_path"] = scope.get("root_path", "") + route
                await app(child, receive, send)
                return
        if kind == "http":
            if self._all_core:
                await self._aserve(request, scope, send, None, receive)
            else:
                await super().__call__(scope, receive, send)
        elif kind == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1000})

    async def _aserve(
        self, request: Request, scope: Scope, send: Send, found: Match | None = None, receive: Receive | None = None
    ) -> None:
        if not self._signals:
            await send_asgi(await self._router.acall(request, found), send, receive)
            return
        # each signal costs a thread hop: skip it when its receivers would find nothing to do
        if _foreign_receivers(signals.request_started) or _opened():
            await _asend(signals.request_started, sender=self.__class__, scope=scope)
        try:
            response = await self._router.acall(request, found)
        finally:
            if _foreign_receivers(signals.request_finished) or _opened():
                await _asend(signals.request_finished, sender=self.__class__)
        await send_asgi(response, send, receive)


_ADOPTED: dict[type, type] = {}


def adopt(handler: Any, service: UtilMeta) -> Any:
    """Make a user's Django handler instance serve the APIs too, keeping its identity (a
    ``server:app`` already pointing at it keeps working) and its own behaviour for other paths."""
    cls = type(handler)
    if not issubclass(cls, UtilMetaWSGIHandler | UtilMetaASGIHandler):
        mixin = UtilMetaASGIHandler if isinstance(handler, ASGIHandler) else UtilMetaWSGIHandler
        new = _ADOPTED.get(cls)
        if new is None:
            new = _ADOPTED[cls] = type(f"UtilMeta{cls.__name__}", (mixin, cls), {"__module__": __name__})
        handler.__class__ = new
    handler._bind(service)
    return handler


def __getattr__(name: str) -> Any:
    # WSGI_APPLICATION / ASGI_APPLICATION point here, so Django's own runserver serves the APIs
    if name == "application":
        from django.core.exceptions import ImproperlyConfigured

        from utilmeta.conf._lookup import current_service as get_service  # the slot UtilMeta(...) fills

        service = get_service()
        if service is None:
            raise ImproperlyConfigured("no UtilMeta service in this process: import the service module first")
        return service.application()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
