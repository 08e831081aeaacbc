"""The three endpoints written directly in Starlette (async views, ``JSONResponse``)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from benchmarks.apps import _common


async def hello(request: Request) -> Response:
    return PlainTextResponse(_common.HELLO)


async def item(request: Request) -> Response:
    query = request.query_params
    try:
        return JSONResponse(_common.item(request.path_params["id"], query.get("q"), query.get("limit")))
    except _common.Invalid as e:
        return JSONResponse(_common.error_body(e), status_code=400)


async def users(request: Request) -> Response:
    try:
        try:
            data = await request.json()
        except ValueError as e:
            raise _common.Invalid(f"body: malformed JSON ({e})") from None
        return JSONResponse(_common.user(data))
    except _common.Invalid as e:
        return JSONResponse(_common.error_body(e), status_code=400)


app = Starlette(
    routes=[
        Route("/hello", hello, methods=["GET"]),
        Route("/items/{id}", item, methods=["GET"]),
        Route("/users", users, methods=["POST"]),
    ]
)
