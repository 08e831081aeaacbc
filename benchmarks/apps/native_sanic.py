"""The three endpoints written directly in Sanic (async handlers, ``sanic.response.json``)."""

from __future__ import annotations

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json, text

from benchmarks.apps import _common

app = Sanic("native_bench")


@app.exception(_common.Invalid)
async def invalid(request: Request, error: _common.Invalid) -> HTTPResponse:
    return json(_common.error_body(error), status=400)


@app.get("/hello")
async def hello(request: Request) -> HTTPResponse:
    return text(_common.HELLO)


@app.get("/items/<id>")
async def item(request: Request, id: str) -> HTTPResponse:
    args = request.args
    return json(_common.item(id, args.get("q"), args.get("limit")))


@app.post("/users")
async def users(request: Request) -> HTTPResponse:
    return json(_common.user(request.json))  # a malformed body: Sanic's own 400
