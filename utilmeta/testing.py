"""In-process clients: send requests to a service (or a bare API class) without sockets.

    with TestClient(service) as client:        # runs startup / shutdown hooks
        r = client.get('/api/hello', params={'q': 1})
        assert r.status_code == 200 and r.text == 'world'

``AsyncTestClient`` has the same methods as coroutines. Requests go through the same router the
backends use, so behaviour matches a real server; only the socket is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import msgspec

from utilmeta.core.request import Request
from utilmeta.core.request.request import Headers
from utilmeta.core.response import Response
from utilmeta.core.response.wire import framing

__all__ = ["TestClient", "AsyncTestClient", "TestResponse"]


class TestResponse:
    __test__ = False  # not a pytest test class

    def __init__(self, response: Response, streamed: bytes | None = None):
        self.status_code = response.status
        pairs, body = framing(response)  # as a server would send it
        self.headers = Headers.from_pairs(pairs)
        self.header_list = pairs
        #: a streamed answer (server-sent events) is read to its end
        self.content = body if streamed is None else streamed
        self.response = response

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self) -> Any:
        return msgspec.json.decode(self.content)

    @property
    def request_id(self) -> str:
        return self.headers.get("x-request-id", "")

    def __repr__(self) -> str:
        return f"<TestResponse {self.status_code}>"


def _target(app: Any, route: str) -> tuple[Any, Any]:
    """(router, service or None) for a service or a bare API class."""
    from utilmeta.core.api import API

    if isinstance(app, type) and issubclass(app, API):
        from utilmeta.core.api.handler import BuildContext
        from utilmeta.core.api.router import Router
        from utilmeta.core.request.parser import Limits
        from utilmeta.core.response.encoding import json_encoder

        ctx = BuildContext(limits=Limits(), encode=json_encoder(), debug=True)
        return Router(app, prefix=route, ctx=ctx), None
    return app.router, app


class _Base:
    __test__ = False

    def __init__(
        self,
        app: Any,
        *,
        route: str = "/",
        headers: Mapping[str, str] | None = None,
        client_addr: str = "127.0.0.1",
        base_url: str = "http://testserver",
    ):
        self.router, self.service = _target(app, route)
        self.headers = dict(headers or {})
        self.client_addr = client_addr
        split = urlsplit(base_url)
        self.scheme = split.scheme or "http"
        self.host = split.netloc or "testserver"

    def build(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        content: bytes | str | None = None,
    ) -> Request:
        split = urlsplit(url)
        query = split.query
        if params:
            extra = urlencode(params, doseq=True)
            query = f"{query}&{extra}" if query else extra
        pairs: dict[str, str] = {"host": self.host, **{k.lower(): v for k, v in self.headers.items()}}
        pairs.update({k.lower(): v for k, v in (headers or {}).items()})
        body = b""
        if files is not None:
            from utilmeta.core.request.multipart import encode_multipart

            body, ctype = encode_multipart(data, files)
            pairs.setdefault("content-type", ctype)
        elif data is not None:
            body = urlencode(data, doseq=True).encode()
            pairs.setdefault("content-type", "application/x-www-form-urlencoded")
        elif json is not None:
            body = msgspec.json.encode(json)
            pairs.setdefault("content-type", "application/json")
        elif content is not None:
            body = content.encode() if isinstance(content, str) else content
        if body or method.upper() in ("POST", "PUT", "PATCH"):
            pairs.setdefault("content-length", str(len(body)))
        if cookies:
            pairs["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        return Request(
            method,
            unquote(split.path) or "/",
            query,
            Headers.from_pairs(pairs.items()),
            body=body,
            client_addr=self.client_addr,
            scheme=self.scheme,
            server_host=self.host,
        )


def _verbs(cls: type) -> type:
    # get/post/... share one signature: generate them instead of repeating it
    for verb in ("get", "post", "put", "patch", "delete", "head", "options"):

        def make(v: str) -> Any:
            def method(self: Any, url: str, **kwargs: Any) -> Any:
                return self.request(v.upper(), url, **kwargs)

            method.__name__ = v
            return method

        setattr(cls, verb, make(verb))
    return cls


@_verbs
class TestClient(_Base):
    """A synchronous in-process client. An asynchronous service runs on the client's own loop."""

    def __init__(self, app: Any, **kwargs: Any):
        super().__init__(app, **kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._async = bool(self.service and self.service.asynchronous)

    def _run(self, coro: Any) -> Any:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coro)

    def request(self, method: str, url: str, **kwargs: Any) -> TestResponse:
        request = self.build(method, url, **kwargs)
        if self._async:
            response = self._run(self.router.acall(request))
            streamed = self._run(_collect(response)) if response.stream is not None else None
        else:
            response = self.router(request)
            streamed = b"".join(response.stream.chunks()) if response.stream is not None else None
        return TestResponse(response, streamed)

    def __enter__(self) -> TestClient:
        if self.service is not None:
            if self._async:
                self._run(self.service.astartup())
            else:
                self.service.startup()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.service is not None:
            if self._async:
                self._run(self.service.ashutdown())
            else:
                self.service.shutdown()
        self.close()

    def close(self) -> None:
        if self._loop is not None:
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
            self._loop.close()
            self._loop = None


async def _collect(response: Response) -> bytes:
    assert response.stream is not None
    return b"".join([chunk async for chunk in response.stream.achunks()])


@_verbs
class AsyncTestClient(_Base):
    """An asynchronous in-process client: ``await client.get(...)``."""

    async def request(self, method: str, url: str, **kwargs: Any) -> TestResponse:
        request = self.build(method, url, **kwargs)
        response = await self.router.acall(request)
        return TestResponse(response, await _collect(response) if response.stream is not None else None)

    async def __aenter__(self) -> AsyncTestClient:
        if self.service is not None:
            await self.service.astartup()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.service is not None:
            await self.service.ashutdown()
