"""Request paths as the adaptors hand them to the core, and the apps mounted below prefixes.

The core routes on the decoded path (``/café``, not ``/caf%C3%A9``). Servers give it in one of
two forms: WSGI's ``PATH_INFO`` (already unquoted, but bytes decoded as latin-1, PEP 3333) and
the raw request target (Tornado, Sanic: still percent-encoded). ``service.mount(app, route)``
apps are matched by :class:`MountTable`, longest prefix first, on a segment boundary
(``/a`` serves ``/a`` and ``/a/b``, not ``/ab``).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

__all__ = ["MountTable", "as_asgi", "is_asgi_app", "origin_form", "unquote_path", "wsgi_path", "mounted_environ"]


def wsgi_path(environ: dict[str, Any]) -> str:
    """``PATH_INFO`` as text: PEP 3333 hands the path's bytes over as latin-1."""
    path: str = environ.get("PATH_INFO") or "/"
    if not path.isascii():
        try:
            return path.encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass
    return path


def unquote_path(path: str) -> str:
    """A raw request path, percent-decoded."""
    return unquote(path) if "%" in path else path


def origin_form(target: str) -> str:
    """The path of a request target (RFC 9112 §3.2): ``http://host/a`` in absolute-form,
    which a server must accept, is ``/a``."""
    if target[:1] == "/":
        return target
    scheme, sep, rest = target.partition("://")
    if sep and scheme.lower() in ("http", "https"):
        slash = rest.find("/")
        return rest[slash:] if slash >= 0 else "/"
    return target


def _under(path: str, prefix: str) -> bool:
    return not prefix or path == prefix or (path.startswith(prefix) and path[len(prefix)] == "/")


def is_asgi_app(app: Any) -> bool:
    """Whether a mounted app is an ASGI app (a coroutine function or an object with an async
    ``__call__``); a WSGI app is a plain callable."""
    return inspect.iscoroutinefunction(app) or (callable(app) and inspect.iscoroutinefunction(type(app).__call__))


def as_asgi(app: Any) -> Any:
    """A mounted app as an ASGI app: a WSGI app (Flask, Django's WSGIHandler) is wrapped, run on
    a thread, with the mount prefix moved to its ``SCRIPT_NAME`` (from the scope's ``root_path``)."""
    if is_asgi_app(app):
        return app
    from utilmeta.utils.deps import require

    wsgi = require("asgiref.wsgi", "starlette", package="asgiref")
    return wsgi.WsgiToAsgi(app)


class MountTable:
    """The service's mounted apps by prefix (``service.mounts`` holds ``(app, route)``)."""

    __slots__ = ("entries",)

    def __init__(self, mounts: Iterable[tuple[Any, str]]):
        #: ``(prefix, app)``, longest prefix first; the root mount's prefix is ``""``
        self.entries = sorted(((route.rstrip("/"), app) for app, route in mounts), key=lambda m: -len(m[0]))

    def __bool__(self) -> bool:
        return bool(self.entries)

    def find(self, path: str) -> tuple[str, Any] | None:
        """The ``(prefix, app)`` serving ``path``, or None."""
        for prefix, app in self.entries:
            if _under(path, prefix):
                return prefix, app
        return None


def mounted_environ(environ: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The environ a WSGI app mounted at ``prefix`` sees: the prefix moved to SCRIPT_NAME."""
    if not prefix:
        return environ
    child = dict(environ)
    child["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
    child["PATH_INFO"] = environ.get("PATH_INFO", "")[len(prefix) :]
    return child
