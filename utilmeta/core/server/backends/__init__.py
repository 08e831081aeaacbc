"""The registry of backend adaptors, imported only when chosen.

``backend=`` may be a registry name (``'flask'``), the framework's module (``import flask``) or
an application instance (``Flask(__name__)``); :func:`resolve` finds the adaptor for each.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

from utilmeta.core.server.backends.base import ServerAdaptor
from utilmeta.utils.exceptions import SetupError

__all__ = ["BACKENDS", "ServerAdaptor", "load", "resolve"]

BACKENDS: dict[str, str] = {
    "django": "utilmeta.core.server.backends.django:DjangoServerAdaptor",
    "flask": "utilmeta.core.server.backends.flask:FlaskServerAdaptor",
    "starlette": "utilmeta.core.server.backends.starlette:StarletteServerAdaptor",
    "fastapi": "utilmeta.core.server.backends.fastapi:FastAPIServerAdaptor",
    "sanic": "utilmeta.core.server.backends.sanic:SanicServerAdaptor",
    "tornado": "utilmeta.core.server.backends.tornado:TornadoServerAdaptor",
    # framework-free: the core as a bare ASGI / WSGI callable
    "asgi": "utilmeta.core.server.backends.asgi:ASGIServerAdaptor",
    "wsgi": "utilmeta.core.server.backends.wsgi:WSGIServerAdaptor",
}

# the order matters for instances: FastAPI apps are Starlette apps too
_INSTANCE_ORDER = ("fastapi", "starlette", "flask", "sanic", "tornado", "django")


def load(name: str) -> type[ServerAdaptor]:
    try:
        target = BACKENDS[name]
    except KeyError:
        known = ", ".join(sorted(BACKENDS))
        raise SetupError(f"unknown backend {name!r}; choose one of: {known}") from None
    module_name, attr = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        missing = (e.name or "").split(".")[0]
        if missing and not missing.startswith("utilmeta"):
            raise SetupError(
                f"backend {name!r} needs the {missing!r} package: pip install 'utilmeta[{name}]'"
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
