"""The API every backend must serve identically. ``make_service(backend, style, production)`` builds it.

``style`` is ``'sync'`` (plain ``def`` endpoints) or ``'async'`` (``async def`` endpoints; the service is
asynchronous). On async-only backends sync endpoints run in the thread pool.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Annotated, Any, Literal, Optional

import msgspec
from app_responses import AsyncResponsesAPI, ResponsesAPI
from moved import AsyncMovedAPI, MovedAPI

from utilmeta import UtilMeta
from utilmeta.conf import Preference
from utilmeta.core import api, request, response
from utilmeta.core.file import File
from utilmeta.utils import exceptions

SLOW_SECONDS = 0.4


class UserIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    age: Annotated[int, msgspec.Meta(ge=0)]
    tags: list[str] = []


class Envelope(response.Response):
    result_key = "data"
    message_key = "msg"
    state_key = "code"
    count_key = "total"


def _general_apis() -> tuple[type[api.API], type[api.API]]:
    """UtilMeta's class-level ("general") parameters, path templates with defaults, segment regexes
    and hooks with path parameters: ``(sync API, async API)``."""

    class ArticleAPI(api.API):
        slug: str = request.SlugPathParam

        @api.get
        def get(self) -> dict:
            return {"slug": self.slug}

        @api.get("comments/{page}")
        def comments(self, page: int = request.PathParam(default=1, ge=1)) -> dict:
            return {"slug": self.slug, "page": page, "reader": self.reader}

        @api.before("*")
        def check(self, slug: str = request.SlugPathParam, reader: str = request.QueryParam(default="")) -> None:
            if slug == "locked":
                raise exceptions.PermissionDenied(f"{slug} is locked")
            self.reader = reader

    class GeneralAPI(api.API):
        token: str = request.HeaderParam("X-Token")
        session: str = request.CookieParam(default="")
        limit: Annotated[int, request.QueryParam(default=10, ge=1)]
        articles: ArticleAPI = api.route("articles/{slug}")

        @api.get
        def me(self) -> list:
            return [self.token, self.session, self.limit]

        @api.get("doc/{lang}/{page}")
        def doc(self, lang: Literal["en", "zh"], page: int = request.PathParam(default=1, ge=1)) -> dict:
            return {"lang": lang, "page": page}

        @api.get("code/{code}")
        def code(self, code: str = request.PathParam("[a-z]{1,9}")) -> str:
            return code

    class AsyncArticleAPI(ArticleAPI):
        @api.before("*")
        async def check(self, slug: str = request.SlugPathParam, reader: str = request.QueryParam(default="")) -> None:
            await asyncio.sleep(0)
            if slug == "locked":
                raise exceptions.PermissionDenied(f"{slug} is locked")
            self.reader = reader

    class AsyncGeneralAPI(GeneralAPI):
        articles: AsyncArticleAPI = api.route("articles/{slug}")

        @api.get
        async def me(self) -> list:
            await asyncio.sleep(0)
            return [self.token, self.session, self.limit]

    return GeneralAPI, AsyncGeneralAPI


def _sync_api() -> type[api.API]:
    class ItemAPI(api.API):
        @api.get("{id}")
        def one(self, id: int, q: str = "", limit: int = request.QueryParam(default=10, ge=1, le=100)) -> dict:
            return {"id": id, "q": q, "limit": limit}

        @api.get("special")
        def special(self) -> str:
            return "literal wins"

        @api.get("files/{path}")
        def path(self, path: str = request.FilePathParam()) -> str:
            return path

    class WrappedAPI(api.API):
        response = Envelope

        @api.get
        def items(self) -> Envelope:
            return Envelope([1, 2, 3], total=3, message="ok")

        @api.get
        def denied(self) -> None:
            raise exceptions.PermissionDenied("members only", state=4031)

    general_api = _general_apis()[0]

    class RootAPI(api.API):
        items: ItemAPI
        wrapped: WrappedAPI
        general: general_api  # type: ignore[valid-type]
        moved: MovedAPI
        responses: ResponsesAPI

        @api.get
        def hello(self) -> str:
            return "world"

        @api.get
        def json(self) -> dict:
            return {"unicode": "héllo ✓", "nested": {"list": [1, 2.5, None, True]}}

        @api.get
        def empty(self) -> None:
            return None

        @api.get
        def binary(self) -> bytes:
            return bytes(range(256))

        @api.get
        def typed(
            self,
            flag: bool = False,
            ratio: float = 1.0,
            mode: Literal["a", "b"] = "a",
            tags: list[int] = [],  # noqa: B006
            note: Optional[str] = None,
        ) -> dict:
            return {"flag": flag, "ratio": ratio, "mode": mode, "tags": tags, "note": note}

        @api.get
        def headers(
            self, token: str = request.HeaderParam("X-Token"), session: str = request.CookieParam(default="")
        ) -> dict:
            return {"token": token, "session": session}

        @api.post
        def users(self, user: UserIn = request.Body) -> UserIn:
            return user

        @api.post
        def form(self, name: str = request.BodyParam, age: int = request.BodyParam) -> dict:
            return {"name": name, "age": age}

        @api.post
        def upload(
            self, file: File = request.BodyParam(max_length=64 * 1024), note: str = request.BodyParam(default="")
        ) -> dict:
            return {"filename": file.filename, "size": file.size, "head": file.read(8).hex(), "note": note}

        @api.put("echo")
        def put_echo(self, data: dict = request.Body) -> dict:
            return data

        @api.patch("echo")
        def patch_echo(self, data: dict = request.Body) -> dict:
            return data

        @api.delete("echo")
        def delete_echo(self) -> None:
            return None

        @api.get
        def client(self) -> dict:
            return {"ip": self.request.ip_address, "scheme": self.request.scheme}

        @api.get
        def crash(self) -> None:
            raise RuntimeError("internal detail 42")

        @api.get
        def not_implemented(self) -> None:
            raise NotImplementedError

        @api.get
        def slow(self) -> str:
            time.sleep(SLOW_SECONDS)
            return threading.current_thread().name

        @api.get
        def guarded(self) -> str:
            return "in"

        @api.before(guarded)
        def check(self, key: str = request.HeaderParam("X-Key", default="")) -> None:
            if key != "open":
                raise exceptions.Unauthorized("X-Key required")

        @api.after("*")
        def tag(self, resp: response.Response) -> None:
            resp.headers["X-Served-By"] = "utilmeta"

    return RootAPI


def _async_api() -> type[api.API]:
    base = _sync_api()

    general_api = _general_apis()[1]

    class AsyncRootAPI(base):  # type: ignore[misc, valid-type]
        general: general_api  # type: ignore[valid-type]
        moved: AsyncMovedAPI
        responses: AsyncResponsesAPI

        @api.get
        async def hello(self) -> str:
            await asyncio.sleep(0)
            return "world"

        @api.post
        async def users(self, user: UserIn = request.Body) -> UserIn:
            await asyncio.sleep(0)
            return user

        @api.get
        async def aslow(self) -> str:
            await asyncio.sleep(SLOW_SECONDS)
            return "async"

    return AsyncRootAPI


def make_service(
    backend: str,
    style: str = "sync",
    production: bool = False,
    strict: bool = False,
    trusted_proxies: tuple[str, ...] | None = None,
    **options: Any,
) -> UtilMeta:
    """``options`` go to ``UtilMeta(...)`` (``host``, ``port``, ...)."""
    from utilmeta.core.server.service import _clear_service

    _clear_service()
    asynchronous = True if style == "async" else None
    service = UtilMeta(
        __name__,
        name="conformance",
        backend=backend,
        api=_async_api() if style == "async" else _sync_api(),
        route="/api",
        production=production,
        asynchronous=asynchronous,
        version=(1, 0, 0),
        **options,
    )
    proxies = {} if trusted_proxies is None else {"trusted_proxies": trusted_proxies}
    service.use(Preference(max_body_size=256 * 1024, strict_root_route=strict, **proxies))
    observed = os.environ.get("UTILMETA_TEST_OBSERVE_FILE")
    if observed:
        from observed import FileRecorder

        service.observe(FileRecorder(observed))
    marker = os.environ.get("UTILMETA_TEST_HOOK_FILE")
    if marker:

        @service.on_startup
        def started() -> None:
            with open(marker, "a") as f:
                f.write(f"start {os.getpid()}\n")

        @service.on_shutdown
        def stopped() -> None:
            with open(marker, "a") as f:
                f.write(f"stop {os.getpid()}\n")

    return service
