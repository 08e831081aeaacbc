"""The registry of backend adaptors, imported only when chosen, and the one table of their facts.

``backend=`` may be a registry name (``'flask'``), the framework's module (``import flask``) or
an application instance (``Flask(__name__)``); :func:`resolve` finds the adaptor for each.

:data:`BACKEND_INFO` holds one :class:`BackendInfo` row per backend: its adaptor's import
string, framework and extra, default port and mode, and how production servers run it (the
interface, the servers in order of preference, Gunicorn's worker class). The adaptor classes
(``ServerAdaptor.info``), ``deploy/`` and ``bin/`` all read these rows, and reading them imports
no framework, so ``meta setup`` and ``meta deploy`` work where a framework is missing. A new
backend is one row here plus its adaptor module.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any, Literal, NamedTuple

from utilmeta.core.server.backends.base import ServerAdaptor
from utilmeta.utils.exceptions import SetupError
from utilmeta.utils.text import did_you_mean

__all__ = [
    "BACKENDS",
    "BACKEND_INFO",
    "ASGI",
    "WSGI",
    "BackendInfo",
    "Interface",
    "Server",
    "ServerAdaptor",
    "Serving",
    "WorkerClass",
    "info",
    "load",
    "resolve",
]

#: how a server talks to the application: WSGI, ASGI, or the framework's own server
Interface = Literal["wsgi", "asgi", "own"]
Server = Literal["gunicorn", "uwsgi", "daphne", "sanic", "tornado"]
#: Gunicorn's worker classes (``uvicorn`` is the ``uvicorn-worker`` package's ASGI worker)
WorkerClass = Literal["sync", "gthread", "gevent", "uvicorn"]


class Serving(NamedTuple):
    """How production servers run a service of one mode (sync or async) on a backend."""

    interface: Interface
    #: the servers that can run it, the recommended one first
    servers: tuple[Server, ...]
    #: Gunicorn's default worker class for it; None where Gunicorn cannot run it
    worker_class: WorkerClass | None


WSGI = Serving("wsgi", ("gunicorn", "uwsgi"), "gevent")
ASGI = Serving("asgi", ("gunicorn", "daphne"), "uvicorn")


class BackendInfo(NamedTuple):
    """The facts about one backend, readable without importing its framework."""

    name: str
    #: ``module:Class`` of the adaptor, imported by :func:`load`
    adaptor: str
    #: the framework's top-level import name, and the utilmeta extra that installs it
    framework: str | None
    extra: str | None
    default_port: int
    default_asynchronous: bool
    #: how a synchronous / asynchronous service is served; None: this backend cannot serve it
    when_sync: Serving | None
    when_async: Serving | None
    #: whether ``service.run(workers=N)`` (``meta run --workers``) starts several processes itself
    run_workers: bool = False

    @property
    def supports_sync(self) -> bool:
        return self.when_sync is not None

    @property
    def supports_async(self) -> bool:
        return self.when_async is not None

    def serving(self, asynchronous: bool) -> Serving:
        """How a service of this mode is served; SetupError if this backend cannot serve it."""
        mode = self.when_async if asynchronous else self.when_sync
        if mode is None:
            kind = "an asynchronous" if asynchronous else "a synchronous"
            raise SetupError(f"backend {self.name!r} cannot serve {kind} service")
        return mode


def _own(server: Server) -> Serving:
    return Serving("own", (server,), None)


_ROWS = (
    BackendInfo(
        "django",
        "utilmeta.core.server.backends.django:DjangoServerAdaptor",
        framework="django",
        extra="django",
        default_port=8000,
        default_asynchronous=False,
        when_sync=WSGI,
        when_async=ASGI._replace(servers=("daphne", "gunicorn")),
    ),
    BackendInfo(
        "flask",
        "utilmeta.core.server.backends.flask:FlaskServerAdaptor",
        framework="flask",
        extra="flask",
        default_port=5000,
        default_asynchronous=False,
        when_sync=WSGI,
        when_async=WSGI,  # async views run on an event loop per thread, under a WSGI server
    ),
    BackendInfo(
        "starlette",
        "utilmeta.core.server.backends.starlette:StarletteServerAdaptor",
        framework="starlette",
        extra="starlette",
        default_port=8000,
        default_asynchronous=True,
        when_sync=ASGI,
        when_async=ASGI,
    ),
    BackendInfo(
        "fastapi",
        "utilmeta.core.server.backends.fastapi:FastAPIServerAdaptor",
        framework="fastapi",
        extra="fastapi",
        default_port=8000,
        default_asynchronous=True,
        when_sync=ASGI,
        when_async=ASGI,
    ),
    BackendInfo(
        "sanic",
        "utilmeta.core.server.backends.sanic:SanicServerAdaptor",
        framework="sanic",
        extra="sanic",
        default_port=8000,
        default_asynchronous=True,
        when_sync=_own("sanic"),
        when_async=_own("sanic"),
        run_workers=True,
    ),
    BackendInfo(
        "tornado",
        "utilmeta.core.server.backends.tornado:TornadoServerAdaptor",
        framework="tornado",
        extra="tornado",
        default_port=8000,
        default_asynchronous=True,
        when_sync=_own("tornado"),
        when_async=_own("tornado"),
    ),
    # framework-free: the core as a bare ASGI / WSGI callable
    BackendInfo(
        "asgi",
        "utilmeta.core.server.backends.asgi:ASGIServerAdaptor",
        framework=None,
        extra=None,
        default_port=8000,
        default_asynchronous=True,
        when_sync=ASGI,
        when_async=ASGI,
    ),
    BackendInfo(
        "wsgi",
        "utilmeta.core.server.backends.wsgi:WSGIServerAdaptor",
        framework=None,
        extra=None,
        default_port=8000,
        default_asynchronous=False,
        when_sync=WSGI,
        when_async=None,
    ),
)

BACKEND_INFO: dict[str, BackendInfo] = {row.name: row for row in _ROWS}
#: name → adaptor import string: what :func:`load` imports (a view of :data:`BACKEND_INFO`)
BACKENDS: dict[str, str] = {row.name: row.adaptor for row in _ROWS}

# the order matters for instances: FastAPI apps are Starlette apps too
_INSTANCE_ORDER = ("fastapi", "starlette", "flask", "sanic", "tornado", "django")


def _unknown(name: str) -> SetupError:
    hint = did_you_mean(name, BACKENDS)
    return SetupError(f"unknown backend {name!r}{hint}; choose one of: {', '.join(sorted(BACKENDS))}")


def info(name: str) -> BackendInfo:
    """The facts about backend ``name``; SetupError naming the choices if there is no such backend."""
    try:
        return BACKEND_INFO[name]
    except KeyError:
        raise _unknown(name) from None


def load(name: str) -> type[ServerAdaptor]:
    try:
        target = BACKENDS[name]
    except KeyError:
        raise _unknown(name) from None
    module_name, attr = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        missing = (e.name or "").split(".")[0]
        if missing and not missing.startswith("utilmeta"):
            extra = BACKEND_INFO[name].extra if name in BACKEND_INFO else None
            raise SetupError(
                f"backend {name!r} needs the {missing!r} package: pip install 'utilmeta[{extra or name}]'"
            ) from None
        raise SetupError(f"backend {name!r} is not available in this version of utilmeta") from e
    adaptor: type[ServerAdaptor] = getattr(module, attr)
    return adaptor


def resolve(backend: Any) -> tuple[type[ServerAdaptor], Any]:
    """The adaptor class for ``backend=``, and the application instance if one was given."""
    if isinstance(backend, str):
        return load(backend.lower()), None
    if isinstance(backend, ModuleType):
        return load(backend.__name__.split(".")[0].lower()), None
    if isinstance(backend, type) and issubclass(backend, ServerAdaptor):
        return backend, None
    root = type(backend).__module__.split(".")[0]
    for name in _INSTANCE_ORDER:
        if name in sys.modules and (root == name or name in _module_roots(backend)):
            adaptor = load(name)
            if adaptor.accepts(backend):
                return adaptor, backend
    raise SetupError(
        f"backend={backend!r} is not a supported framework, module or application; "
        f"use one of: {', '.join(sorted(BACKENDS))}"
    )


def _module_roots(obj: Any) -> set[str]:
    return {cls.__module__.split(".")[0] for cls in type(obj).__mro__}
