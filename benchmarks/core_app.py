"""The three benchmark endpoints, written with utilmeta (shared by every benchmark)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from utilmeta.core import api, request


class UserIn(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(max_length=20)]
    age: Annotated[int, msgspec.Meta(ge=0)]
    tags: list[str] = []


class ItemAPI(api.API):
    @api.get("{id}")
    def item(self, id: int, q: str = "", limit: int = 10) -> dict:
        return {"id": id, "q": q, "limit": limit}


class BenchAPI(api.API):
    items: ItemAPI

    @api.get
    def hello(self) -> str:
        return "Hello, World!"

    @api.post
    def users(self, user: UserIn = request.Body) -> UserIn:
        return user


class AsyncItemAPI(api.API):
    @api.get("{id}")
    async def item(self, id: int, q: str = "", limit: int = 10) -> dict:
        return {"id": id, "q": q, "limit": limit}


class AsyncBenchAPI(api.API):
    items: AsyncItemAPI

    @api.get
    async def hello(self) -> str:
        return "Hello, World!"

    @api.post
    async def users(self, user: UserIn = request.Body) -> UserIn:
        return user
