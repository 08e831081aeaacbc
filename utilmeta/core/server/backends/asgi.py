"""ASGI translation, and the framework-free ASGI backend (``backend='asgi'``).

:func:`request_from_scope` and :func:`send_asgi` are what ASGI-based adaptors (starlette,
fastapi, django async) use to talk to the core.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterable, MutableMapping
from typing import Any

from utilmeta.core.request import Request
from utilmeta.core.request.request import Headers, HeaderSource
from utilmeta.core.request.wire import screen_size
from utilmeta.core.response import Response
from utilmeta.core.response.wire import framing
from utilmeta.core.server.backends.base import Lifecycle, ServerAdaptor
from utilmeta.utils.exceptions import BadRequest

__all__ = ["ASGIHeaders", "request_from_scope", "send_asgi", "ASGIApp", "ASGIServerAdaptor", "lifespan"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


#: header names as they appear in a scope (lower-case latin-1 bytes), by their str
_WIRE_NAMES: dict[str, bytes] = {}
#: Content-Type values (the same few on every answer), by their str
_WIRE_TYPES: dict[str, bytes] = {}
_CACHE_LIMIT = 512  # names and types come from code, not from requests; the bound only guards against misuse


def _wire_name(name: str) -> bytes:
    wire = _WIRE_NAMES.get(name)
    if wire is None:
        wire = name.lower().encode("latin-1")
        if len(_WIRE_NAMES) < _CACHE_LIMIT:
            _WIRE_NAMES[name] = wire
    return wire


def _wire_type(value: str) -> bytes:
    wire = value.encode("latin-1")
    if len(_WIRE_TYPES) < _CACHE_LIMIT:
        _WIRE_TYPES[value] = wire
    return wire


class ASGIHeaders(HeaderSource):
    """An ASGI scope's header pairs (names are lower-case bytes, as the ASGI spec requires),
    decoded only when asked for."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: Iterable[tuple[bytes, bytes]]):
        self.pairs = pairs

    def get(self, name: str) -> str | None:
        key = _WIRE_NAMES.get(name) or _wire_name(name)
        found: str | None = None
        for raw_name, raw_value in self.pairs:
            if raw_name == key:
                value = raw_value.decode("latin-1")
                if found is None:
                    found = value
                else:
                    found += ("; " if name == "cookie" else ", ") + value
        return found

    def build(self) -> Headers:
        return Headers.from_pairs((name.decode("latin-1"), value.decode("latin-1")) for name, value in self.pairs)


def request_from_scope(scope: Scope, receive: Receive, native: Any = None, max_header_size: int = 0) -> Request:
    """The core's request for an ASGI HTTP scope; the body is received only if needed. With
    ``max_header_size``, a larger header block is refused (431): some servers read any size."""

    async def areader(limit: int) -> bytes:
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":  # before the last chunk: never a whole body
                raise BadRequest("the client disconnected before its request body was complete")
            chunk = message.get("body", b"")
            if chunk:
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    break  # the core answers 413; nothing more needs to be received
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    get = scope.get
    client = get("client")
    query = get("query_string", b"")
    server = get("server")
    if server:
        host, port = server
        server_host = f"{host}:{port}" if port else host
    else:
        server_host = ""
    pairs = get("headers", ())
    request = Request(
        get("method", "GET"),
        get("path") or "/",
        query.decode("latin-1") if isinstance(query, bytes) else query,
        ASGIHeaders(pairs),
        areader=areader,
        client_addr=client[0] if client else "",
        scheme=get("scheme", "http"),
        server_host=server_host,
        native=scope if native is None else native,
    )
    if max_header_size:
        request.refusal = screen_size(pairs, max_header_size)
    return request


def response_headers(items: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Response headers as ASGI pairs."""
    names = _WIRE_NAMES
    types = _WIRE_TYPES
    out = []
    for name, value in items:
        key = names.get(name) or _wire_name(name)
        if key == b"content-type":
            out.append((key, types.get(value) or _wire_type(value)))
        else:
            out.append((key, value.encode("latin-1")))
    return out


async def send_asgi(response: Response, send: Send, receive: Receive | None = None) -> None:
    """Send the core's answer; a streamed one chunk by chunk, stopped (and its generator closed)
    when ``receive`` reports the client gone."""
    headers, body = framing(response)
    await send({"type": "http.response.start", "status": response.status, "headers": response_headers(headers)})
    if response.stream is None:
        await send({"type": "http.response.body", "body": body})
    elif receive is None:
        await _send_stream(response, send)
    else:
        await _until_disconnect(_send_stream(response, send), receive)


async def _send_stream(response: Response, send: Send) -> None:
    assert response.stream is not None
    chunks = response.stream.achunks()
    try:
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        await chunks.aclose()


async def _until_disconnect(sending: Coroutine[Any, Any, None], receive: Receive) -> None:
    """Run ``sending`` until it ends or the client disconnects, whichever comes first."""
    import asyncio

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass  # the rest of a request body nobody reads

    send_task = asyncio.ensure_future(sending)
    watch_task = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait((send_task, watch_task), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (send_task, watch_task):
            task.cancel()
        await asyncio.gather(send_task, watch_task, return_exceptions=True)
    error = send_task.exception() if send_task.done() and not send_task.cancelled() else None
    if error is not None and not isinstance(error, OSError):  # OSError: the server saw the client go first
        raise error


async def lifespan(lifecycle: Lifecycle, receive: Receive, send: Send) -> None:
    """Answer the ASGI lifespan protocol with the service's startup/shutdown hooks."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await lifecycle.astartup()
            except Exception as e:
                await send({"type": "lifespan.startup.failed", "message": f"{type(e).__name__}: {e}"})
                raise
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            try:
                await lifecycle.ashutdown()
            except Exception as e:
                await send({"type": "lifespan.shutdown.failed", "message": f"{type(e).__name__}: {e}"})
                raise
            await send({"type": "lifespan.shutdown.complete"})
            return


class ASGIApp:
    """The core as an ASGI callable (HTTP and lifespan)."""

    def __init__(self, service: Any):
        self.service = service
        self.router = service.router
        self.lifecycle = service.adaptor.lifecycle
        self.max_header_size = self.router.ctx.limits.max_header_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if not self.lifecycle.started:  # a server that sends no lifespan events
                await self.lifecycle.astart()
            response = await self.router.acall(request_from_scope(scope, receive, None, self.max_header_size))
            await send_asgi(response, send, receive)
        elif kind == "lifespan":
            await lifespan(self.lifecycle, receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})


class ASGIServerAdaptor(ServerAdaptor):
    name = "asgi"

    def application(self) -> ASGIApp:
        return ASGIApp(self.service)

    def run(self, **kwargs: Any) -> None:
        self.run_uvicorn(self.application(), kwargs)
