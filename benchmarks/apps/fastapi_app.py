"""The three endpoints written in FastAPI the way its docs teach: async path operations, typed
parameters and a pydantic model. Validation errors answer 400 (FastAPI's default is 422) so every
app in the benchmark honours the same contract; only the error path pays for the handler."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from benchmarks.apps import _common


class UserIn(BaseModel):
    name: Annotated[str, Field(max_length=_common.NAME_MAX)]
    age: Annotated[int, Field(ge=0)]
    tags: list[str] = []


app = FastAPI(openapi_url=None)


@app.exception_handler(RequestValidationError)
async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": exc.errors()}, status_code=400)


@app.get("/hello", response_class=PlainTextResponse)
async def hello() -> str:
    return _common.HELLO


@app.get("/items/{id}")
async def item(id: int, q: str = "", limit: int = 10) -> dict[str, int | str]:
    return {"id": id, "q": q, "limit": limit}


@app.post("/users")
async def users(user: UserIn) -> UserIn:
    return user
