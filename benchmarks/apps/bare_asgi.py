"""The three endpoints as one hand-written ASGI callable: the ceiling of an ASGI server."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from benchmarks.apps import _common

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

TEXT = [(b"content-type", _common.TEXT_TYPE.encode())]
JSON = [(b"content-type", b"application/json")]


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, data: Any) -> None:
    await _respond(send, status, JSON, json.dumps(data, separators=(",", ":")).encode())


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path: str = scope["path"]
    method: str = scope["method"]
    try:
        if path == "/hello" and method == "GET":
            return await _respond(send, 200, TEXT, _common.HELLO_BYTES)
        if path.startswith("/items/") and method == "GET":
            query = parse_qs(scope["query_string"].decode("latin-1"))
            q, limit = query.get("q"), query.get("limit")
            data = _common.item(path[7:], q[-1] if q else None, limit[-1] if limit else None)
            return await _json(send, 200, data)
        if path == "/users" and method == "POST":
            try:
                body = json.loads(await _body(receive))
            except ValueError as e:
                raise _common.Invalid(f"body: malformed JSON ({e})") from None
            return await _json(send, 200, _common.user(body))
    except _common.Invalid as e:
        return await _json(send, 400, _common.error_body(e))
    await _json(send, 404, {"detail": "not found"})
