"""The contract every backend adaptor fulfils.

An adaptor translates between its framework and the core; it has no behaviour of its own.
Routing, parsing, errors, HEAD/OPTIONS and hooks all live in the core's
:class:`~utilmeta.core.api.router.Router`, reached through ``service.router``; the framing of
the answer in :mod:`utilmeta.core.response.wire`. What an adaptor does:

- ``application()`` builds the native app, ``run()`` serves it in the foreground and prints the
  start banner once bound (:meth:`ServerAdaptor.announce`: with ``port=0`` the port the system
  picked);
- it tells its :class:`Lifecycle` *when* its framework starts and stops (a lifespan event, a
  server listener, or the first request) — the lifecycle runs the service's hooks once per
  process;
- it translates requests and responses (``wsgi.py`` / ``asgi.py`` for the WSGI/ASGI ones);
- it dispatches in one order: API paths (``router.match``) to the core, then the mounted apps
  (:class:`~utilmeta.core.server.backends.paths.MountTable`), then the app's own routes; a path
  nobody serves gets the core's 404 unless the app has a 404 handler of its own. Only "does the
  app serve this path" is the framework's to answer, so that check is the adaptor's.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, ClassVar

from utilmeta.core.server.backends.listen import bind
from utilmeta.core.server.backends.paths import is_asgi_app
from utilmeta.utils.exceptions import SetupError

if TYPE_CHECKING:
    import asyncio

    from utilmeta.core.server.backends import BackendInfo
    from utilmeta.core.server.service import UtilMeta

__all__ = ["Lifecycle", "ServerAdaptor"]


class Lifecycle:
    """The service's startup and shutdown hooks, run once per process (a forked worker runs
    them anew). An adaptor calls it when its framework starts or stops:

    - :meth:`startup` / :meth:`astartup` when the server announces it starts (ASGI lifespan,
      Sanic's listeners, ``run()``), and :meth:`shutdown` / :meth:`ashutdown` when it stops;
    - :meth:`start` / :meth:`astart` before the first request where the server announces
      nothing (WSGI servers, a lifespan-less ASGI server): the shutdown hooks then run at exit.

    ``started`` is a plain attribute so a request checks it for free."""

    def __init__(self, service: UtilMeta):
        self.service = service
        self._reset()
        _LIFECYCLES.add(self)

    def _reset(self) -> None:
        self.started = False
        self._lock = threading.Lock()
        self._starting: asyncio.Future[None] | None = None

    def startup(self) -> None:
        self.service.startup()
        self.started = True

    def shutdown(self) -> None:
        self.service.shutdown()

    async def astartup(self) -> None:
        await self.service.astartup()
        self.started = True

    async def ashutdown(self) -> None:
        await self.service.ashutdown()

    def start(self, run: Callable[[Coroutine[Any, Any, bool]], bool] | None = None) -> None:
        """Before the first request (any thread): the hooks now, the shutdown hooks at exit.
        ``run`` runs the async hooks of an asynchronous service on the caller's event loop."""
        with self._lock:
            if not self.started:
                service = self.service
                if run(service.astartup()) if run is not None else service.startup():
                    atexit.register(service.shutdown)
                self.started = True

    async def astart(self) -> None:
        """Before the first request on an event loop: requests arriving meanwhile wait for the
        same run of the hooks."""
        import asyncio  # not at the top: a WSGI service never loads it

        if self._starting is None:
            self._starting = asyncio.ensure_future(self._astart())
        await asyncio.shield(self._starting)

    async def _astart(self) -> None:
        if await self.service.astartup():
            atexit.register(self.service.shutdown)
        self.started = True


_LIFECYCLES: weakref.WeakSet[Lifecycle] = weakref.WeakSet()


def _after_fork() -> None:
    # a forked worker has run no hook yet, whatever its parent did; its locks start free
    for lifecycle in list(_LIFECYCLES):
        lifecycle._reset()


os.register_at_fork(after_in_child=_after_fork)

#: facts an adaptor used to declare itself; they live in its registry row now, and a class
#: declaring one would silently disagree with the row
_ROW_FACTS = frozenset(
    ("framework", "extra", "default_asynchronous", "default_port", "supports_sync", "supports_async")
)


class ServerAdaptor:
    #: the registry name (``'flask'``)
    name: ClassVar[str]
    #: the backend's facts (framework, default port and mode, how it is served): its row in the
    #: registry, found by ``name``; an adaptor from outside the registry sets its own
    info: ClassVar[BackendInfo]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = _ROW_FACTS.intersection(cls.__dict__)
        if declared:
            raise TypeError(f"{cls.__name__}: {', '.join(sorted(declared))} belong in the backend's BackendInfo row")
        if "info" not in cls.__dict__ and "name" in cls.__dict__:
            from utilmeta.core.server.backends import BACKEND_INFO

            if cls.name not in BACKEND_INFO:
                raise TypeError(
                    f"{cls.__name__}: backend {cls.name!r} has no registry row; set info = BackendInfo(...)"
                )
            cls.info = BACKEND_INFO[cls.name]

    def __init__(self, service: UtilMeta, app: Any = None):
        self.service = service
        #: an application instance the user passed as ``backend=``; it keeps its own routes
        self.app = app
        self.lifecycle = Lifecycle(service)

    @classmethod
    def accepts(cls, app: Any) -> bool:
        """Whether ``app`` (passed as ``backend=``) is an application of this framework."""
        return False

    @property
    def version(self) -> str:
        """The installed framework's version, for the start banner."""
        framework = self.info.framework
        if not framework:
            return ""
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(framework)
        except PackageNotFoundError:
            return ""

    def check(self) -> None:
        """Refuse configurations this backend cannot serve (called by ``service.setup()``)."""

    def check_mount(self, app: Any, route: str) -> None:
        """Refuse, at ``service.mount(app, route)``, a foreign app this backend cannot serve. By
        default an ASGI app under a WSGI server; a WSGI app under an ASGI server is wrapped."""
        if self.info.serving(self.service.asynchronous).interface == "wsgi" and is_asgi_app(app):
            asgi_mode = self.info.when_async is not None and self.info.when_async.interface == "asgi"
            raise SetupError(
                f"service.mount({app!r}, {route!r}): an ASGI app cannot be served by a {self.name} service "
                "under a WSGI server; "
                + ("pass asynchronous=True to UtilMeta(...), " if asgi_mode else "")
                + "mount it on a starlette or fastapi service, or mount a WSGI app"
            )

    def application(self) -> Any:
        """The native application (WSGI/ASGI callable or framework app) serving the service."""
        raise NotImplementedError

    def run(self, **kwargs: Any) -> None:
        """Serve in the foreground with the framework's own runner; ``kwargs`` go to it."""
        raise NotImplementedError

    def announce(self, port: int | None = None) -> None:
        """Print the start banner, once the server listens on ``port``: that port becomes the
        service's, so the banner names the one the system picked for ``port=0``. None: the
        server does not say; the banner names the port asked for (for 0, that the system picks
        one, never port 0)."""
        if port:
            self.service.port = port
        print(self.service.banner(), flush=True)

    #: ``run()`` options that hand the server a socket (or share its port): no address to check
    _GIVEN_SOCKET = ("sock", "fd", "uds", "unix", "reuse_port")

    def listen_address(self, options: dict[str, Any]) -> tuple[str, int] | None:
        """Where ``run(**options)`` will listen, for ``service.run()`` to check before anything
        starts; None when there is nothing to check (the server is handed its socket)."""
        if any(options.get(k) for k in self._GIVEN_SOCKET):
            return None
        port = options.get("port", self.service.port)
        return (str(options.get("host", self.service.host)), port) if isinstance(port, int) else None

    # -- shared by the adaptors --------------------------------------------------------------------

    @property
    def logs_access(self) -> bool:
        """Whether the core logs an access line per request (the service observes it and
        ``utilmeta.access`` is enabled): a server's own line for the request would be a second."""
        from utilmeta.conf._access import ACCESS_LOG, access_logger

        return ACCESS_LOG in self.service.observers and access_logger.isEnabledFor(logging.INFO)

    @property
    def max_body_size(self) -> int:
        """The largest body any endpoint accepts: a server may refuse bodies beyond it."""
        router = self.service.router
        return max([router.ctx.limits.max_body_size, *(h.body_limit for h in router.handlers)])

    def run_uvicorn(self, app: Any, kwargs: dict[str, Any]) -> None:
        """Serve an ASGI ``app`` with uvicorn (``kwargs`` go to ``uvicorn.run``), announced once bound.
        With reload or several workers uvicorn re-imports the app: it gets ``module:attribute``."""
        try:
            import uvicorn
            from uvicorn.config import STARTUP_FAILURE  # the exit status uvicorn.run gives it
        except ImportError:
            raise ImportError(f"running the {self.name} backend needs uvicorn: pip install uvicorn") from None
        service = self.service
        kwargs.setdefault("host", service.host)
        kwargs.setdefault("port", service.port)
        kwargs.setdefault("log_level", "warning" if service.production else "info")
        kwargs.setdefault("access_log", not self.logs_access)  # one line per request, the core's
        if service.auto_reload:
            kwargs.setdefault("reload", True)
        if kwargs.get("reload") or (kwargs.get("workers") or 1) > 1:
            # uvicorn's supervisors bind in the parent and serve in children; it reports no port
            self.announce()
            uvicorn.run(self._import_string(app, kwargs) or app, **kwargs)
            return
        app_dir = kwargs.pop("app_dir", None)
        if app_dir is not None:
            sys.path.insert(0, app_dir)
        # what uvicorn.run does for one process, with the socket bound first: the banner names
        # its port (the one the system picked for port=0)
        config = uvicorn.Config(app, **kwargs)
        server = uvicorn.Server(config)
        sockets = None
        if config.uds or config.fd is not None:
            self.announce()  # uvicorn binds the UNIX socket or takes the descriptor itself
        else:
            # bound, so the banner names the port; uvicorn listens after the startup hooks
            sockets = [bind(config.host, config.port)]
            self.announce(sockets[0].getsockname()[1])
        try:
            server.run(sockets=sockets)
        except KeyboardInterrupt:
            pass
        finally:
            for sock in sockets or ():
                sock.close()
            if config.uds and os.path.exists(config.uds):
                os.remove(config.uds)
        if not server.started:
            sys.exit(STARTUP_FAILURE)

    def _import_string(self, app: Any, kwargs: dict[str, Any]) -> str | None:
        module_name = self.service.module_name
        module = sys.modules.get(module_name)
        attr = next((k for k, v in vars(module).items() if v is app), None) if module else None
        if attr is None:
            return None
        if module_name == "__main__":
            file = self.service.module_file
            if not file:
                return None
            module_name = os.path.splitext(os.path.basename(file))[0]
            kwargs.setdefault("app_dir", os.path.dirname(file))
        return f"{module_name}:{attr}"
