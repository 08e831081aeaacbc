"""Starlette backend: the service inside a ``Starlette`` app, run by uvicorn.

``application()`` returns the app passed as ``backend=`` (or a new one), wired so that:

- one raw ASGI route (:class:`APIRoute`), first in the app's routes, matches exactly the paths
  the core serves (``router.match``) and hands the ASGI scope straight to the core — no
  Starlette ``Request``/``Response`` objects. ``service.mounts`` follow as Starlette ``Mount``
  routes, then the app's own routes answer the other paths;
- while the app has no user middleware, API requests skip its middleware stack altogether
  (decided when Starlette builds the stack, i.e. at the first request, so middleware added any
  time before that still wraps the API);
- the core is the router's fallback, so a path nobody serves gets the core's 404 as on every
  backend — unless the app registered its own 404 handler;
- the service's startup/shutdown hooks wrap the app's own lifespan (Starlette >= 1.0 has no
  ``on_event``; the router's lifespan context is the hook every version shares).

:class:`~utilmeta.core.server.backends.fastapi.FastAPIServerAdaptor` reuses all of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Match, Mount, NoMatchFound

from utilmeta.core.server.backends.asgi import Receive, Scope, Send, request_from_scope, send_asgi
from utilmeta.core.server.backends.base import Lifecycle, ServerAdaptor
from utilmeta.core.server.backends.paths import as_asgi

if TYPE_CHECKING:
    from utilmeta.core.request import Request

__all__ = ["StarletteServerAdaptor", "APIRoute"]


def _route_path(scope: Scope) -> str:
    # the path below the app's mount point, as Starlette's own routes see it
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :] or "/"
    return path


class APIRoute(BaseRoute):
    """A raw ASGI route serving every path of the service's API through the core."""

    def __init__(self, service: Any):
        self.router = service.router
        self._match = self.router.match
        self.max_header_size = self.router.ctx.limits.max_header_size
        self.path = service.route or "/"  # for introspection (``app.routes``); matching is the core's
        self.name = "utilmeta"
        self.include_in_schema = False

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and self._match(_route_path(scope)) is not None:
            return Match.FULL, {}
        return Match.NONE, {}

    def request(self, scope: Scope, receive: Receive) -> Request:
        """The core's request, its path below the app's mount point."""
        request = request_from_scope(scope, receive, None, self.max_header_size)
        if scope.get("root_path"):
            request.path = _route_path(scope)
        return request

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_asgi(await self.router.acall(self.request(scope, receive)), send, receive)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r})"


class _Fallback:
    """The router's default: the core answers paths no route serves (its 404), unless the app
    registered its own 404 handler, which then keeps answering them."""

    def __init__(self, app: Any, route: APIRoute, original: Any):
        self.app = app
        self.route = route
        self.original = original

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and 404 not in self.app.exception_handlers:
            await self.route.handle(scope, receive, send)
        else:
            await self.original(scope, receive, send)


class _Direct:
    """In front of an app without user middleware: API requests skip the stack."""

    def __init__(self, route: APIRoute, stack: Any):
        self.route = route
        self.router = route.router
        self.match = route.router.match
        self.stack = stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            found = self.match(_route_path(scope))
            if found is not None:
                # APIRoute.handle, inlined (one coroutine less per request) and given the match
                await send_asgi(await self.router.acall(self.route.request(scope, receive), found), send, receive)
                return
        await self.stack(scope, receive, send)


def _direct_when_bare(app: Any, route: APIRoute) -> Any:
    """A ``build_middleware_stack`` for the app that puts :class:`_Direct` in front of the
    stack Starlette builds, when nothing in that stack is the user's."""
    build = app.build_middleware_stack

    def build_middleware_stack() -> Any:
        stack = build()
        if app.user_middleware or getattr(app, "max_body_size", None) is not None:
            return stack
        return _Direct(route, stack)

    return build_middleware_stack


def _with_hooks(lifecycle: Lifecycle, inner: Any) -> Any:
    """The app's lifespan, entered after the service's startup hooks and left before its
    shutdown hooks (so the app's own startup code can use what the service set up)."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        await lifecycle.astartup()
        try:
            async with inner(app) as state:
                yield state
        finally:
            await lifecycle.ashutdown()

    return lifespan


class StarletteServerAdaptor(ServerAdaptor):
    name = "starlette"

    _native: Any = None

    @classmethod
    def accepts(cls, app: Any) -> bool:
        return isinstance(app, Starlette)

    def create(self) -> Any:
        """A new app, when none was passed as ``backend=``."""
        return Starlette(debug=not self.service.production)

    def application(self) -> Any:
        if self._native is not None:
            return self._native
        service = self.service
        if self.app is None:
            app = self.create()
        else:
            app = self.app
            if service.production:
                app.debug = False  # never tracebacks in production responses
        route = APIRoute(service)
        router = app.router
        router.routes[0:0] = [route, *(Mount(path, app=as_asgi(target)) for target, path in service.mounts)]
        if getattr(router.default, "__func__", None) is type(router).not_found:
            router.default = _Fallback(app, route, router.default)
        router.lifespan_context = _with_hooks(self.lifecycle, router.lifespan_context)
        app.build_middleware_stack = _direct_when_bare(app, route)
        self._native = app
        return app

    def run(self, **kwargs: Any) -> None:
        self.run_uvicorn(self.application(), kwargs)
