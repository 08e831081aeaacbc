"""Result coercion, response templates, errors and their bodies."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import msgspec
import pydantic
import pytest

from utilmeta import UtilMeta
from utilmeta.conf import Time
from utilmeta.core import api, response
from utilmeta.testing import TestClient
from utilmeta.utils import exceptions as exc


class Wrap(response.Response):
    result_key = "data"
    message_key = "msg"
    state_key = "code"
    count_key = "count"


class Other(response.Response):
    result_key = "result"


class Headed(response.Response):
    status = 201
    headers = {"X-Template": "yes"}


@dataclasses.dataclass
class DC:
    a: int


class S(msgspec.Struct):
    b: str


class M(pydantic.BaseModel):
    c: float


class PlainAPI(api.API):
    @api.get
    def text(self) -> str:
        return "hi"

    @api.get
    def data(self) -> dict:
        return {"k": [1, 2]}

    @api.get
    def lst(self) -> list:
        return [DC(1), S("x"), M(c=1.5)]

    @api.get
    def raw(self) -> bytes:
        return b"\x00\x01"

    @api.get
    def none(self) -> None:
        return None

    @api.get
    def built(self) -> response.Response:
        r = response.Response({"x": 1}, status=202, headers={"X-A": "1"})
        r.set_cookie("sid", "abc", httponly=True, max_age=60)
        return r

    @api.get
    def headed(self) -> Headed:
        return "made"

    @api.get
    def unserializable(self) -> object:
        return object()

    @api.get
    def when(self) -> dict:
        return {"at": datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)}


class WrappedAPI(api.API):
    response = Wrap

    @api.get
    def items(self) -> Wrap:
        return Wrap([1, 2], count=2, message="ok")

    @api.get
    def implicit(self) -> list:
        return ["x"]

    @api.get
    def nearest(self) -> Other:
        return "near"

    @api.get
    def fails(self) -> list:
        raise exc.PermissionDenied("no access", state=40301)

    @api.get
    def crash(self) -> list:
        raise RuntimeError("secret internals")


class RootAPI(api.API):
    plain: PlainAPI
    wrapped: WrappedAPI


@pytest.fixture()
def c() -> TestClient:
    return TestClient(RootAPI)


def test_coercion_by_type(c):
    r = c.get("/plain/text")
    assert (r.headers["content-type"], r.content) == ("text/plain; charset=utf-8", b"hi")
    r = c.get("/plain/data")
    assert (r.headers["content-type"], r.content) == ("application/json", b'{"k":[1,2]}')
    assert c.get("/plain/lst").json() == [{"a": 1}, {"b": "x"}, {"c": 1.5}]
    r = c.get("/plain/raw")
    assert (r.headers["content-type"], r.content) == ("application/octet-stream", b"\x00\x01")
    r = c.get("/plain/none")
    assert (r.status_code, r.content, r.headers.get("content-type")) == (200, b"", None)


def test_response_object_as_built(c):
    r = c.get("/plain/built")
    assert r.status_code == 202 and r.json() == {"x": 1} and r.headers["x-a"] == "1"
    cookie = [v for k, v in r.header_list if k == "Set-Cookie"][0]
    assert cookie.startswith("sid=abc") and "HttpOnly" in cookie and "Max-Age=60" in cookie


def test_template_status_and_headers(c):
    r = c.get("/plain/headed")
    assert r.status_code == 201 and r.headers["x-template"] == "yes" and r.text == "made"


def test_unserializable_result_is_a_500_with_problem_body(c):
    r = c.get("/plain/unserializable")
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"


def test_templates_wrap_results_with_their_keys(c):
    assert c.get("/wrapped/items").json() == {"data": [1, 2], "msg": "ok", "code": 200, "count": 2}
    assert c.get("/wrapped/implicit").json() == {"data": ["x"], "msg": "", "code": 200}
    assert c.get("/wrapped/nearest").json() == {"result": "near"}


def test_template_errors_use_template_keys(c):
    r = c.get("/wrapped/fails")
    assert r.status_code == 403
    assert r.json() == {"data": None, "msg": "no access", "code": 40301}
    assert c.get("/wrapped/nope").status_code == 404


def test_problem_json_without_template(c):
    r = TestClient(PlainAPI).get("/text", params={"x": 1})
    assert r.status_code == 200
    r = TestClient(WrappedAPI).get("/crash")
    assert r.status_code == 500


@pytest.mark.parametrize(
    "error, status",
    [
        (exc.BadRequest, 400),
        (exc.Unauthorized, 401),
        (exc.PermissionDenied, 403),
        (exc.NotFound, 404),
        (exc.Conflict, 409),
        (exc.UnprocessableEntity, 422),
        (exc.TooManyRequests, 429),
        (exc.ServiceUnavailable, 503),
        (NotImplementedError, 501),
        (PermissionError, 403),
        (FileNotFoundError, 404),
        (TimeoutError, 503),
        (KeyError, 500),
        (ValueError, 500),
    ],
)
def test_exception_status_mapping(error, status):
    class E(api.API):
        @api.get
        def go(self) -> None:
            raise error("boom")

    r = TestClient(E).get("/go")
    assert r.status_code == status
    body = r.json()
    assert body["status"] == status and body["type"] == "about:blank"
    assert body["request_id"] == r.headers["x-request-id"]


def test_redirects_carry_location():
    class R(api.API):
        @api.get
        def go(self) -> None:
            raise exc.Found("/elsewhere")

        @api.get
        def perm(self) -> None:
            raise exc.PermanentRedirect("https://example.com/")

    c = TestClient(R)
    r = c.get("/go")
    assert (r.status_code, r.headers["location"]) == (302, "/elsewhere")
    assert c.get("/perm").status_code == 308


@pytest.mark.parametrize("production", [False, True])
def test_production_500_says_nothing_about_the_exception(production, caplog):
    class Crash(api.API):
        @api.get
        def go(self) -> None:
            raise RuntimeError("database password is hunter2")

    service = UtilMeta(__name__, backend="wsgi", name="p", api=Crash, production=production)
    r = TestClient(service).get("/go")
    assert r.status_code == 500
    body = r.json()
    if production:
        assert "hunter2" not in r.text and "RuntimeError" not in r.text
    else:
        assert "RuntimeError" in body["detail"]
    # the log line has the traceback and the same request id
    record = [rec for rec in caplog.records if rec.name == "utilmeta"][-1]
    assert body["request_id"] in record.getMessage() and record.exc_info is not None


def test_time_config_formats_datetimes():
    service = UtilMeta(__name__, backend="wsgi", name="t", api=RootAPI)
    service.use(Time(time_zone="Asia/Shanghai", datetime_format="%Y-%m-%d %H:%M:%S"))
    assert TestClient(service).get("/plain/when").json() == {"at": "2024-05-06 15:08:09"}
    assert TestClient(RootAPI).get("/plain/when").json() == {"at": "2024-05-06T07:08:09Z"}


def test_response_generic_subscription_keeps_template_keys():
    sub = Wrap[list[int]]
    assert sub.result_key == "data" and sub.result_type == list[int] and issubclass(sub, Wrap)


def test_strict_response_validates_results_against_declared_types():
    from utilmeta.conf import Preference

    class Out(msgspec.Struct):
        id: int

    class StrictAPI(api.API):
        @api.get
        def good(self) -> Out:
            return Out(1)

        @api.get
        def bad(self) -> Out:
            return {"id": "not-an-int"}  # type: ignore[return-value]

        @api.get
        def wrapped(self) -> Wrap[list[int]]:
            return Wrap(["x"])

        @api.get
        def untyped(self):  # no annotation: nothing to check
            return {"anything": 1}

    for strict in (True, False):
        _reset_service()
        service = UtilMeta(__name__, backend="wsgi", name="strict", api=StrictAPI)
        service.use(Preference(api_default_strict_response=strict))
        c = TestClient(service)
        assert c.get("/good").json() == {"id": 1}
        assert c.get("/untyped").status_code == 200
        bad = c.get("/bad")
        assert bad.status_code == (500 if strict else 200)
        if strict:
            assert "StrictAPI.bad does not match its declared type" in bad.json()["detail"]
            assert c.get("/wrapped").status_code == 500


def _reset_service() -> None:
    from utilmeta.core.server.service import _clear_service

    _clear_service()


@pytest.mark.parametrize("name", ["Content-Length", "content-length", "CONTENT-LENGTH"])
def test_a_content_length_set_in_any_case_is_sent_once(name):
    import asyncio

    from utilmeta.core.server.backends.asgi import send_asgi
    from utilmeta.core.server.backends.wsgi import send_wsgi

    def made() -> response.Response:
        r = response.Response("hello", headers={name: "5"})
        r.render(msgspec.json.encode)
        return r

    assert [k for k, _ in made().header_items(content_length=True)].count(name) == 1
    started: list = []
    send_wsgi(made(), lambda status, headers: started.append(headers))
    assert [k.lower() for k, _ in started[0]].count("content-length") == 1
    messages: list = []

    async def send(message: dict) -> None:
        messages.append(message)

    asyncio.run(send_asgi(made(), send))
    assert [k for k, _ in messages[0]["headers"]].count(b"content-length") == 1
    plain = response.Response("hello")
    plain.render(msgspec.json.encode)
    assert ("Content-Length", "5") in plain.header_items(content_length=True)
