"""The three endpoints as one hand-written WSGI callable: the ceiling of a WSGI server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from benchmarks.apps import _common

StartResponse = Callable[..., Any]
JSON = [("Content-Type", "application/json")]


def _respond(start_response: StartResponse, status: str, headers: list[tuple[str, str]], body: bytes) -> list[bytes]:
    start_response(status, [*headers, ("Content-Length", str(len(body)))])
    return [body]


def _json(start_response: StartResponse, status: str, data: Any) -> list[bytes]:
    return _respond(start_response, status, JSON, json.dumps(data, separators=(",", ":")).encode())


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path: str = environ["PATH_INFO"]
    method: str = environ["REQUEST_METHOD"]
    try:
        if path == "/hello" and method == "GET":
            return _respond(start_response, "200 OK", [("Content-Type", _common.TEXT_TYPE)], _common.HELLO_BYTES)
        if path.startswith("/items/") and method == "GET":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            q, limit = query.get("q"), query.get("limit")
            data = _common.item(path[7:], q[-1] if q else None, limit[-1] if limit else None)
            return _json(start_response, "200 OK", data)
        if path == "/users" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                body = json.loads(environ["wsgi.input"].read(length))
            except ValueError as e:
                raise _common.Invalid(f"body: malformed JSON ({e})") from None
            return _json(start_response, "200 OK", _common.user(body))
    except _common.Invalid as e:
        return _json(start_response, "400 Bad Request", _common.error_body(e))
    return _json(start_response, "404 Not Found", {"detail": "not found"})
