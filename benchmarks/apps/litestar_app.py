"""The three endpoints written in Litestar the way its docs teach: async handlers, typed
parameters and a msgspec ``Struct`` (the same one utilmeta validates with)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Litestar, MediaType, get, post

from benchmarks.apps import _common


class UserIn(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(max_length=_common.NAME_MAX)]
    age: Annotated[int, msgspec.Meta(ge=0)]
    tags: list[str] = []


@get("/hello", media_type=MediaType.TEXT)
async def hello() -> str:
    return _common.HELLO


@get("/items/{id:int}")
async def item(id: int, q: str = "", limit: int = 10) -> dict[str, int | str]:
    return {"id": id, "q": q, "limit": limit}


@post("/users", status_code=200)
async def users(data: UserIn) -> UserIn:
    return data


app = Litestar([hello, item, users], openapi_config=None)
