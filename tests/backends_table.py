"""The backends as the tests see them: one row per ``backend=`` name, the facts every
multi-backend test needs, and the cells (backend × endpoint style) the six-backend tests run in.

``conftest.py`` turns ``CELLS`` into the ``backend`` fixture; a module that needs the table
itself (to parametrize a module-scoped fixture, or to build a subprocess script) imports it from
here — ``tests/`` is on ``sys.path``. A seventh backend is one row here.

These are the tests' own expectations, written down independently of the adaptors: a test that
compares an adaptor's declared facts with this table checks both.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Literal, NamedTuple

__all__ = ["Backend", "BACKENDS", "FRAMEWORKS", "STYLES", "Cell", "CELLS", "installed"]


@dataclass(frozen=True)
class Backend:
    #: the ``UtilMeta(backend=...)`` name
    name: str
    #: the framework's import name (what must be installed), None for the framework-free backends
    module: str | None
    #: what ``service.application()`` returns: a WSGI app, an ASGI app (both callable in-process),
    #: or an app that only the framework's own server runs
    interface: Literal["wsgi", "asgi", "own"]
    #: the backend runs the service on an event loop (sync endpoints go to a thread pool)
    asynchronous: bool
    #: ``service.run()`` serves through the framework's own server, which writes the bytes itself:
    #: an in-process call would skip that path, so the conformance suite reaches it over a socket
    own_server: bool = False

    @property
    def reach(self) -> Literal["wsgi", "asgi", "server"]:
        """How a test reaches the app when any path will do: in-process if it can, else a server."""
        return "server" if self.interface == "own" else self.interface


BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        Backend("wsgi", None, "wsgi", asynchronous=False),
        Backend("asgi", None, "asgi", asynchronous=True),
        Backend("django", "django", "wsgi", asynchronous=False),
        Backend("flask", "flask", "wsgi", asynchronous=False),
        Backend("starlette", "starlette", "asgi", asynchronous=True),
        Backend("fastapi", "fastapi", "asgi", asynchronous=True),
        Backend("sanic", "sanic", "asgi", asynchronous=True, own_server=True),
        Backend("tornado", "tornado", "own", asynchronous=True, own_server=True),
    )
}

#: the six framework backends
FRAMEWORKS: list[Backend] = [b for b in BACKENDS.values() if b.module is not None]

#: endpoint styles: a service whose endpoints are all ``def``, or all ``async def``
STYLES = ("sync", "async")


class Cell(NamedTuple):
    """One framework backend with one endpoint style; its test id is ``django-sync``."""

    backend: Backend
    style: str

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def asynchronous(self) -> bool:
        """The service runs on an event loop: its endpoints are async, or its backend is."""
        return self.style == "async" or self.backend.asynchronous

    @property
    def own_server(self) -> bool:
        return self.backend.own_server

    def __str__(self) -> str:
        return f"{self.backend.name}-{self.style}"


#: every framework backend with sync endpoints and with async endpoints
CELLS: list[Cell] = [Cell(b, style) for b in FRAMEWORKS for style in STYLES]


def installed(b: Backend) -> bool:
    """Whether the backend's framework can be imported (the framework-free ones always can)."""
    return b.module is None or importlib.util.find_spec(b.module) is not None
