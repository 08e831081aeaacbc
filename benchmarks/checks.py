"""The three endpoints' requests and expected answers, and the bad requests that must get a 400.

Every app is checked with these before it is loaded (over HTTP) or timed (in process): the text
body byte for byte, the JSON bodies as parsed values (``jsonify`` sorts keys, Django adds spaces:
the same document), the media types and the status codes. A path segment that is not an int may
get a 404 instead of a 400: frameworks with typed path converters (Litestar's ``{id:int}``)
treat it as a path no route matches.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["Probe", "ENDPOINTS", "BAD_REQUESTS", "USER_BODY", "verify"]

USER_BODY = b'{"name":"alice","age":30,"tags":["a","b"]}'


@dataclass(frozen=True)
class Probe:
    key: str
    method: str
    path: str
    query: str = ""
    body: bytes = b""
    status: int = 200
    also: int | None = None  #: another acceptable status
    media_type: str = ""  #: the expected Content-Type, parameters aside ("" for error answers)
    expected: Any = None  #: the exact text body (bytes) or the parsed JSON body

    @property
    def url_path(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json"} if self.body else {}


ENDPOINTS: tuple[Probe, ...] = (
    Probe("hello", "GET", "/hello", media_type="text/plain", expected=b"Hello, World!"),
    Probe(
        "items",
        "GET",
        "/items/42",
        "q=abc&limit=5",
        media_type="application/json",
        expected={"id": 42, "q": "abc", "limit": 5},
    ),
    Probe(
        "users",
        "POST",
        "/users",
        body=USER_BODY,
        media_type="application/json",
        expected={"name": "alice", "age": 30, "tags": ["a", "b"]},
    ),
)


def _bad_user(body: bytes, why: str) -> Probe:
    return Probe(f"users: {why}", "POST", "/users", body=body, status=400)


BAD_REQUESTS: tuple[Probe, ...] = (
    Probe("items: id not an int", "GET", "/items/abc", status=400, also=404),
    Probe("items: limit not an int", "GET", "/items/42", "limit=abc", status=400),
    _bad_user(b'{"name":"alice","age":30', "malformed JSON"),
    _bad_user(b"[]", "not an object"),
    _bad_user(b'{"name":"alice","age":-1}', "age < 0"),
    _bad_user(b'{"name":"alice","age":"old"}', "age not an int"),
    _bad_user(b'{"name":"' + b"a" * 21 + b'","age":1}', "name > 20 chars"),
    _bad_user(b'{"name":"alice","age":1,"tags":[1]}', "tags not strings"),
    _bad_user(b'{"age":1}', "name missing"),
)


def verify(probe: Probe, status: int, content_type: str | None, body: bytes) -> str | None:
    """What is wrong with an answer to ``probe``, or None if it is right."""
    if status != probe.status and status != probe.also:
        where = f"{probe.method} {probe.url_path} ({probe.key})"
        return f"{where}: status {status}, expected {probe.status}: {body[:200]!r}"
    if probe.status != 200:
        return None
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != probe.media_type:
        return f"{probe.method} {probe.url_path}: Content-Type {content_type!r}, expected {probe.media_type}"
    if isinstance(probe.expected, bytes):
        ok = body == probe.expected
    else:
        try:
            ok = json.loads(body) == probe.expected
        except ValueError:
            ok = False
    return None if ok else f"{probe.method} {probe.url_path}: body {body[:200]!r}, expected {probe.expected!r}"
