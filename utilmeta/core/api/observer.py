"""Request observers: what the router reports about each request, for logs, metrics and alerts.

An observer is any object with one or more of these methods (subclass :class:`Observer` to
get no-op defaults and the signatures)::

    started(request)                      the request is routed next (its id is set)
    failed(request, error)                an exception became the answer (``response.error``),
                                          or dispatch raised and the exception propagates
    finished(request, response, duration) the answer is final (HEAD body emptied, X-Request-ID
                                          set); ``duration`` in seconds since the request arrived

Register one with ``service.observe(observer)`` before the application is built; the
``Logging`` config registers the access log this way. The router compiles the observers once,
keeping only the methods an observer really defines: a service that observes nothing runs the
plain dispatch path, with no call, loop or check added per request.

Order per request: ``started``, then ``failed`` (when an exception made the answer), then
``finished``. A request that fails outside the core's error handling (a bug in the dispatch
itself, a cancelled task) gets ``failed`` and no ``finished``. Observers run on the request's
path: they must be quick and must not raise (what they raise reaches the server). Per-request
state goes in ``request.context`` (a dict), e.g. a start time or a query counter set in
``started`` and read in ``finished``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from utilmeta.core.request import Request
    from utilmeta.core.response import Response

__all__ = ["Observer", "Observers", "request_size", "response_size"]

EVENTS = ("started", "failed", "finished")


class Observer:
    """A base for observers: every event is a no-op until overridden (see the module docs)."""

    def started(self, request: Request) -> None:
        """The request is about to be routed; ``request.request_id`` is set."""

    def failed(self, request: Request, error: BaseException) -> None:
        """An exception (``error``) was turned into the answer, or escaped the dispatch."""

    def finished(self, request: Request, response: Response, duration: float) -> None:
        """The final answer: ``response.status``, ``response_size(response)``,
        ``request_size(request)``; ``duration`` in seconds since the request arrived."""


def _defined(observer: Any, event: str) -> Callable[..., None] | None:
    """The observer's bound method for ``event``, or None when it does not define one (or
    inherits the no-op of :class:`Observer`)."""
    method = getattr(observer, event, None)
    if method is None:
        return None
    if getattr(type(observer), event, None) is getattr(Observer, event):
        return None
    if not callable(method):
        raise TypeError(f"observer {observer!r}: {event} must be a method, got {method!r}")
    return method


class Observers:
    """The observers of one router, compiled into one tuple of bound methods per event."""

    def __init__(self, observers: Iterable[Any]):
        self.observers = tuple(observers)
        found: dict[str, list[Callable[..., None]]] = {event: [] for event in EVENTS}
        for observer in self.observers:
            if isinstance(observer, type):
                raise TypeError(f"observe an instance, not the class: {observer.__name__}() instead of {observer!r}")
            methods = {event: _defined(observer, event) for event in EVENTS}
            if not any(methods.values()):
                raise TypeError(f"{observer!r} is not an observer: it defines none of {', '.join(EVENTS)}")
            for event, method in methods.items():
                if method is not None:
                    found[event].append(method)
        self.started: tuple[Callable[[Request], None], ...] = tuple(found["started"])
        self.failed: tuple[Callable[[Request, BaseException], None], ...] = tuple(found["failed"])
        self.finished: tuple[Callable[[Request, Response, float], None], ...] = tuple(found["finished"])

    def __bool__(self) -> bool:
        return bool(self.observers)


def request_size(request: Request) -> int:
    """The request body's size in bytes: what was read, else the declared Content-Length."""
    body = request._body
    if body is not None:
        return len(body)
    declared = request.header("content-length")
    return int(declared) if declared and declared.isdigit() else 0


def response_size(response: Response) -> int:
    """The response body's size in bytes as sent (0 for HEAD: the router empties it)."""
    return len(response.body or b"")
