"""The three endpoints written directly in Flask (``jsonify``, ``request.args``, a 400 for bad input)."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

from benchmarks.apps import _common

app = Flask(__name__)


@app.errorhandler(_common.Invalid)
def invalid(error: _common.Invalid) -> tuple[Response, int]:
    return jsonify(_common.error_body(error)), 400


@app.get("/hello")
def hello() -> Response:
    return Response(_common.HELLO, content_type=_common.TEXT_TYPE)


@app.get("/items/<id>")
def item(id: str) -> Response:
    return jsonify(_common.item(id, request.args.get("q"), request.args.get("limit")))


@app.post("/users")
def users() -> Response:
    data = request.get_json(silent=True)
    if data is None:
        raise _common.Invalid("body: expected a JSON object")
    return jsonify(_common.user(data))
