"""The conformance service's ``/api/responses`` part: errors through templates, the most specific
``@api.handle`` hook, ``self.response``, cookies, files, server-sent events, every HTTP exception
class, and what an API's ``__init__`` failure or a non-str header value gives."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from utilmeta.core import api, response
from utilmeta.core.response.sse import ServerSentEvent, SSEResponse
from utilmeta.utils import Error, exceptions

NOTES = Path(__file__).resolve().parent / "static" / "notes.txt"


def big_file() -> Path:
    """A file past ``FILE_IN_MEMORY`` (so it is streamed), the same bytes in every process."""
    import tempfile

    path = Path(tempfile.gettempdir()) / "utilmeta-conformance-big.bin"
    content = bytes(range(256)) * 1200 + b"end"
    if not path.exists() or path.stat().st_size != len(content):
        part = path.with_suffix(f".{os.getpid()}")
        part.write_bytes(content)
        os.replace(part, path)  # atomic: concurrent servers never see half a file
    return path


#: every HTTP error class of ``utilmeta.utils.exceptions`` (aliases once), by name
HTTP_ERRORS: dict[str, type[exceptions.HttpError]] = {}
for _name in exceptions.__all__:
    _cls = getattr(exceptions, _name)
    if isinstance(_cls, type) and issubclass(_cls, exceptions.HttpError) and _cls not in HTTP_ERRORS.values():
        HTTP_ERRORS[_name] = _cls


def make_error(name: str) -> exceptions.HttpError:
    cls = HTTP_ERRORS[name]
    if issubclass(cls, exceptions.Redirect) and cls is not exceptions.NotModified:
        return cls("/elsewhere")
    if cls is exceptions.ParseError:
        return cls([{"location": "query", "name": "x", "message": "bad"}])
    return cls()


class Wrap(response.Response):
    result_key = "data"
    message_key = "msg"
    state_key = "code"


class HeaderWrap(response.Response):
    result_key = "data"
    state_key = "code"
    message_header = "X-Message"
    count_header = "X-Total"
    state_header = "X-State"


class HandledAPI(api.API):
    """The generic handler is declared first: the specific one must still win."""

    @api.get
    def bad(self) -> None:
        raise exceptions.BadRequest("bad input")

    @api.get
    def parse(self, n: int) -> int:
        return n

    @api.get
    def missing(self) -> None:
        raise exceptions.NotFound("gone")

    @api.get
    def crash(self) -> None:
        raise ValueError("boom")

    @api.handle("*", Exception)
    def any_error(self, e: Exception) -> dict:
        return {"by": "exception", "type": type(e).__name__}

    @api.handle("*", exceptions.BadRequest)
    def bad_request(self, e: exceptions.BadRequest) -> dict:
        return {"by": "bad-request", "type": type(e).__name__}

    @api.get
    def typed(self) -> None:
        raise exceptions.Gone("moved away", state="archived")

    @api.handle(typed, exceptions.Gone)
    def as_error(self, e: Error) -> Wrap:
        # UtilMeta's tutorial style: the hook gets an Error, passes it on as the template's error
        return Wrap({"type": e.type.__name__, "has_traceback": "Gone" in e.full_info}, error=e, status=e.status)

    @api.handle("*", exceptions.NotFound, exceptions.RequestError)
    def request_error(self, e: exceptions.RequestError) -> dict:
        return {"by": "request-error", "type": type(e).__name__}


class BrokenAPI(api.API):
    def __init__(self, request: Any):
        super().__init__(request)
        raise RuntimeError("init failed: secret detail")

    @api.get
    def ping(self) -> str:
        return "never"


def ticks(n: int) -> Iterator[Any]:
    yield ServerSentEvent({"n": 0}, event="tick", id="0")
    yield "event: raw\ndata: as is\n\n"
    for i in range(1, n):
        yield {"n": i}
    yield ServerSentEvent("line one\nline two", event="done")


async def aticks(n: int) -> AsyncIterator[Any]:
    for i in range(n):
        await asyncio.sleep(0)
        yield ServerSentEvent({"n": i}, event="tick")


def failing() -> Iterator[Any]:
    yield ServerSentEvent("first")
    raise RuntimeError("stream broke: secret detail")


def _signals() -> Path:
    """Where the streaming tests and the server meet: the test writes ``<tag>.go`` to let a
    stream go on, the server writes ``<tag>.closed`` when a stream's generator was closed."""
    return Path(os.environ.get("UTILMETA_TEST_SSE_DIR", "."))


def gated(tag: str) -> Iterator[Any]:
    yield ServerSentEvent("first", event="open")
    while not (_signals() / f"{tag}.go").exists():
        time.sleep(0.01)
    yield ServerSentEvent("second")


def endless(tag: str) -> Iterator[Any]:
    try:
        n = 0
        while True:
            yield ServerSentEvent({"n": n})
            n += 1
            time.sleep(0.02)
    finally:
        (_signals() / f"{tag}.closed").write_text("closed")


async def agated(tag: str) -> AsyncIterator[Any]:
    yield ServerSentEvent("first", event="open")
    while not (_signals() / f"{tag}.go").exists():
        await asyncio.sleep(0.01)
    yield ServerSentEvent("second")


async def aendless(tag: str) -> AsyncIterator[Any]:
    try:
        n = 0
        while True:
            yield ServerSentEvent({"n": n})
            n += 1
            await asyncio.sleep(0.02)
    finally:
        (_signals() / f"{tag}.closed").write_text("closed")


class ResponsesAPI(api.API):
    handled: HandledAPI
    broken: BrokenAPI

    @api.get
    def template_error(self, code: int = 404) -> Wrap:
        error = {401: exceptions.Unauthorized("log in"), 403: exceptions.PermissionDenied("no", state=4031)}.get(
            code, exceptions.NotFound("nothing here") if code == 404 else RuntimeError("secret detail")
        )
        return Wrap({"partial": True} if code == 403 else None, error=error)

    @api.get
    def plain_error(self) -> response.Response:
        return response.Response(error=exceptions.Conflict("taken"))

    @api.get
    def made(self) -> response.Response:
        return self.response({"made": True}, status=201, headers={"X-Made": "yes"})

    @api.get
    def cookies(self) -> response.Response:
        return response.Response("ok", cookies={"flavour": "oat", "size": 2})

    @api.get
    def download(self) -> response.Response:
        return self.response(file=str(NOTES))

    @api.get
    def keyed(self) -> HeaderWrap:
        return HeaderWrap([1, 2], count=2, message="été", extra={"page": 1, "code": "ignored"})

    @api.get
    def as_attachment(self) -> response.Response:
        return response.Response(attachment=str(NOTES))

    @api.get
    def event_stream_keyword(self) -> response.Response:
        return response.Response(event_stream=ticks(2))

    @api.get
    def big_download(self) -> response.Response:
        return self.response(file=big_file())

    @api.get
    def events(self, n: int = 3) -> SSEResponse:
        return SSEResponse(ticks(n))

    @api.get
    def aevents(self, n: int = 3) -> SSEResponse:
        return SSEResponse(aticks(n))

    @api.get
    def gated(self, tag: str) -> SSEResponse:
        return SSEResponse(gated(tag))

    @api.get
    def endless(self, tag: str) -> SSEResponse:
        return SSEResponse(endless(tag))

    @api.get
    def broken_events(self) -> SSEResponse:
        return SSEResponse(failing())

    @api.get
    def error(self, name: str) -> None:
        raise make_error(name)

    @api.get
    def header_values(self) -> str:
        return "ok"

    @api.get
    def header_none(self) -> str:
        return "ok"

    @api.after(header_values)
    def typed_headers(self, resp: response.Response) -> None:
        resp.headers["X-Count"] = 3
        resp.headers["X-Ratio"] = 0.5
        resp.headers["X-Raw"] = b"raw-bytes"

    @api.get
    def header_injection(self) -> str:
        return "ok"

    @api.get
    def header_unicode(self) -> str:
        return "ok"

    @api.after(header_none)
    def none_header(self, resp: response.Response) -> None:
        resp.headers["X-Unset"] = None

    @api.after(header_injection)
    def injected_header(self, resp: response.Response) -> None:
        resp.headers["X-Note"] = "a\r\nSet-Cookie: stolen=1"

    @api.after(header_unicode)
    def unicode_header(self, resp: response.Response) -> None:
        resp.headers["X-Mark"] = "done \u2713"

    @api.get
    def yielding(self, n: int = 2) -> SSEResponse:
        yield from ticks(n)


class AsyncResponsesAPI(ResponsesAPI):
    @api.get
    async def yielding(self, n: int = 2) -> SSEResponse:
        for i in range(n):
            await asyncio.sleep(0)
            yield ServerSentEvent({"n": i}, event="tick")

    @api.get
    async def gated(self, tag: str) -> SSEResponse:
        return SSEResponse(agated(tag))

    @api.get
    async def endless(self, tag: str) -> SSEResponse:
        return SSEResponse(aendless(tag))

    @api.get
    async def template_error(self, code: int = 404) -> Wrap:
        await asyncio.sleep(0)
        return ResponsesAPI.template_error(self, code)

    @api.get
    async def error(self, name: str) -> None:
        await asyncio.sleep(0)
        raise make_error(name)


#: id → (method, url, httpx keyword arguments), merged into the suite's CASES
CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "template-error-404": ("GET", "/api/responses/template_error?code=404", {}),
    "template-error-401": ("GET", "/api/responses/template_error?code=401", {}),
    "template-error-403-result": ("GET", "/api/responses/template_error?code=403", {}),
    "template-error-500": ("GET", "/api/responses/template_error?code=500", {}),
    "response-error-no-template": ("GET", "/api/responses/plain_error", {}),
    "handle-specific-beats-generic": ("GET", "/api/responses/handled/bad", {}),
    "handle-parse-error-by-mro": ("GET", "/api/responses/handled/parse?n=x", {}),
    "handle-nearest-of-several": ("GET", "/api/responses/handled/missing", {}),
    "handle-generic-fallback": ("GET", "/api/responses/handled/crash", {}),
    "handle-hook-gets-error": ("GET", "/api/responses/handled/typed", {}),
    "self-response": ("GET", "/api/responses/made", {}),
    "response-cookies": ("GET", "/api/responses/cookies", {}),
    "response-file": ("GET", "/api/responses/download", {}),
    "template-extra-and-key-headers": ("GET", "/api/responses/keyed", {}),
    "response-attachment": ("GET", "/api/responses/as_attachment", {}),
    "response-event-stream-keyword": ("GET", "/api/responses/event_stream_keyword", {}),
    "response-big-file": ("GET", "/api/responses/big_download", {}),
    "head-big-file": ("HEAD", "/api/responses/big_download", {}),
    "sse-sync": ("GET", "/api/responses/events", {}),
    "sse-async-generator": ("GET", "/api/responses/aevents", {}),
    "sse-error-event": ("GET", "/api/responses/broken_events", {}),
    "head-sse": ("HEAD", "/api/responses/events", {}),
    "init-failure": ("GET", "/api/responses/broken/ping", {}),
    "header-values-converted": ("GET", "/api/responses/header_values", {}),
    "header-none-refused": ("GET", "/api/responses/header_none", {}),
    "header-line-break-refused": ("GET", "/api/responses/header_injection", {}),
    "header-beyond-latin1-refused": ("GET", "/api/responses/header_unicode", {}),
    "sse-generator-endpoint": ("GET", "/api/responses/yielding", {}),
    **{f"http-error-{name}": ("GET", f"/api/responses/error?name={name}", {}) for name in HTTP_ERRORS},
}
