"""The three endpoints written directly in Tornado (``RequestHandler`` classes, ``write(dict)``).
No access log, as in every other row."""

from __future__ import annotations

import json

from tornado.web import Application, RequestHandler

from benchmarks.apps import _common


class _Handler(RequestHandler):
    def bad_request(self, error: _common.Invalid) -> None:
        self.set_status(400)
        self.write(_common.error_body(error))


class Hello(_Handler):
    def get(self) -> None:
        self.set_header("Content-Type", _common.TEXT_TYPE)
        self.write(_common.HELLO)


class Item(_Handler):
    def get(self, id: str) -> None:
        try:
            self.write(_common.item(id, self.get_query_argument("q", None), self.get_query_argument("limit", None)))
        except _common.Invalid as e:
            self.bad_request(e)


class Users(_Handler):
    def post(self) -> None:
        try:
            try:
                data = json.loads(self.request.body)
            except ValueError as e:
                raise _common.Invalid(f"body: malformed JSON ({e})") from None
            self.write(_common.user(data))
        except _common.Invalid as e:
            self.bad_request(e)


def _no_access_log(handler: RequestHandler) -> None:
    pass


app = Application([(r"/hello", Hello), (r"/items/([^/]+)", Item), (r"/users", Users)], log_function=_no_access_log)
