"""Server-sent events: ``from utilmeta.core.response.sse import SSEResponse, ServerSentEvent``.

An endpoint returns ``SSEResponse(events)`` where ``events`` is a generator or an async
generator; every backend sends each event as soon as it is yielded (``text/event-stream``,
``Cache-Control: no-cache``, ``X-Accel-Buffering: no`` so that Nginx does not buffer it)::

    @api.get
    def ticks(self) -> SSEResponse:
        def events():
            for n in range(3):
                yield ServerSentEvent(data={"n": n}, event="tick", id=str(n))
        return SSEResponse(events())

What a generator may yield: a :class:`ServerSentEvent`; ``str`` or ``bytes``, sent as they are
(already in the event-stream format); anything else is sent as one ``data:`` line of JSON.

The events go out through :class:`~utilmeta.core.response.stream.Stream` (what every adaptor
sends). When the client goes away the generator is closed (``GeneratorExit`` at its ``yield``, so its
``finally`` runs): at once on the ASGI backends, Sanic and Tornado, at the next event it yields
on the WSGI ones (a WSGI server only learns of it when a write fails). A sync generator under an
asynchronous service runs in a worker thread, one event at a time, never on the event loop; an
async generator under a synchronous service runs on an event loop of its own. An exception in
the generator ends the stream with an ``error`` event (``{"status", "message"}``; the message of
an :class:`~utilmeta.utils.exceptions.HttpError`, else only the status phrase) and is logged.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from utilmeta.core.response.encoding import json_encoder
from utilmeta.core.response.response import Response, _title
from utilmeta.core.response.stream import Stream
from utilmeta.utils.exceptions import HttpError, status_of

__all__ = ["SSEResponse", "ServerSentEvent", "format_sse"]

logger = logging.getLogger("utilmeta")
_encode_json = json_encoder()


class ServerSentEvent:
    """One event. ``data`` that is not a ``str`` is sent as JSON; a multi-line ``str`` as one
    ``data:`` line per line (the client joins them with newlines)."""

    __slots__ = ("data", "event", "id", "retry")

    def __init__(self, data: Any = None, *, event: str | None = None, id: str | None = None, retry: int | None = None):
        if data is None and not event:
            raise ValueError("ServerSentEvent: give data or event")
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry

    def encode(self) -> bytes:
        lines = []
        if self.event is not None:
            lines.append(f"event: {_one_line('event', self.event)}")
        if self.data is not None:
            data = self.data if isinstance(self.data, str) else _encode_json(self.data).decode()
            lines.extend(f"data: {line}" for line in data.splitlines() or [""])
        if self.id is not None:
            lines.append(f"id: {_one_line('id', str(self.id))}")
        if self.retry is not None:
            lines.append(f"retry: {int(self.retry)}")
        return ("\n".join(lines) + "\n\n").encode()

    def __str__(self) -> str:
        return self.encode().decode()

    def __repr__(self) -> str:
        return f"ServerSentEvent(event={self.event!r}, data={self.data!r})"


def _one_line(field: str, value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(f"ServerSentEvent: {field} cannot contain a line break")
    return value


def format_sse(event: str, data: Any) -> str:
    """``event: <event>`` and ``data: <data>`` as one event, ready to yield."""
    return str(ServerSentEvent(data, event=event))


def _chunk(item: Any) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode()
    if isinstance(item, ServerSentEvent):
        return item.encode()
    return ServerSentEvent(item).encode()


def _error_event(error: BaseException) -> bytes:
    status = status_of(error)
    if isinstance(error, HttpError):
        message = error.message
    else:
        logger.error("the event stream failed", exc_info=error)
        message = _title(status)
    return ServerSentEvent({"status": status, "message": message}, event="error").encode()


def take_event_stream(response: Response, events: Any) -> None:
    """``Response(event_stream=...)`` (UtilMeta's keyword): the response streams ``events``."""
    if not (hasattr(events, "__next__") or hasattr(events, "__anext__")):
        raise TypeError(f"event_stream takes a generator or an async generator, got {type(events).__name__}")
    response.body = b""
    response.stream = Stream(events, encode=_chunk, on_error=_error_event)
    response.content_type = "text/event-stream"
    for name, value in SSEResponse.headers.items():
        if not any(k.lower() == name.lower() for k in response.headers):
            response.headers[name] = value


class SSEResponse(Response):
    """A ``text/event-stream`` answer whose events are sent as the generator yields them."""

    content_type = "text/event-stream"
    headers: Any = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

    def __init__(
        self,
        event_stream: Iterator[Any] | AsyncIterator[Any],
        *,
        status: int | None = None,
        headers: Mapping[str, Any] | None = None,
        cookies: Mapping[str, Any] | None = None,
    ):
        super().__init__(None, status=status, headers=headers, cookies=cookies, event_stream=event_stream)

    @classmethod
    def wraps(cls, result: Any) -> bool:
        # an endpoint declared ``-> SSEResponse`` returning a generator is streamed; what its
        # error hooks return (a dict, ...) is an ordinary answer
        return hasattr(result, "__next__") or hasattr(result, "__anext__")
