"""Routing: endpoints, sub-APIs, route templates, precedence, prefixes, HEAD/OPTIONS/405."""

from __future__ import annotations

import pytest

from utilmeta import UtilMeta
from utilmeta.conf import Preference
from utilmeta.core import api
from utilmeta.testing import TestClient
from utilmeta.utils.exceptions import DeclarationError


class ItemAPI(api.API):
    @api.get("{id}")
    def one(self, id: int) -> dict:
        return {"id": id}

    @api.get("gone")
    def gone(self) -> str:
        return "gone"

    def get(self) -> list:
        return ["list"]

    def post(self) -> str:
        return "created"


@api.route("docs/{lang}")
class DocAPI(api.API):
    @api.get("{page}")
    def page(self, lang: str, page: int) -> dict:
        return {"lang": lang, "page": page}


class RootAPI(api.API):
    items: ItemAPI
    docs: DocAPI
    renamed: ItemAPI = api.route("things")

    @api.get
    def hello(self) -> str:
        return "world"

    @api.get("doc/{lang}/{page}")
    def doc(self, lang: str, page: int) -> dict:
        return {"lang": lang, "page": page}

    @api.post("echo", summary="Echo")
    def echo_post(self) -> str:
        return "post"


def client(**kw) -> TestClient:
    return TestClient(RootAPI, **kw)


def test_function_name_is_default_route():
    r = client().get("/hello")
    assert (r.status_code, r.text) == (200, "world")
    assert r.headers["content-type"] == "text/plain; charset=utf-8"


def test_method_named_functions_serve_the_class_path():
    c = client()
    assert c.get("/items").json() == ["list"]
    assert c.post("/items").text == "created"


def test_literal_segment_wins_over_variable_whatever_the_order():
    c = client()
    assert c.get("/items/gone").text == "gone"
    assert c.get("/items/3").json() == {"id": 3}


def test_path_parameter_failing_its_type_is_400_not_404():
    r = client().get("/items/abc")
    assert r.status_code == 400
    assert r.json()["errors"] == [{"location": "path", "name": "id", "message": "Expected int, got str"}]


def test_multi_segment_templates_and_route_decorator():
    c = client()
    assert c.get("/doc/en/2").json() == {"lang": "en", "page": 2}
    assert c.get("/docs/zh/5").json() == {"lang": "zh", "page": 5}
    assert c.get("/things/7").json() == {"id": 7}
    assert c.get("/renamed/7").status_code == 404


def test_trailing_slash_is_the_same_path():
    assert client().get("/hello/").text == "world"


def test_unknown_path_404_problem_json():
    r = client().get("/nope")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 404 and body["title"] == "Not Found" and "/nope" in body["detail"]
    assert body["request_id"] == r.headers["x-request-id"]


def test_wrong_method_405_with_allow():
    r = client().delete("/hello")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD, OPTIONS"
    assert r.json()["status"] == 405


def test_head_answers_get_without_body():
    r = client().head("/hello")
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-length"] == "5"


def test_options_lists_allowed_methods():
    r = client().options("/items")
    assert r.status_code == 204
    assert r.headers["allow"] == "GET, POST, HEAD, OPTIONS"


def test_request_id_is_echoed_when_well_formed_else_generated():
    c = client()
    assert c.get("/hello", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = c.get("/hello", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"]
    assert generated and generated != "bad id\n"
    assert c.get("/hello").headers["x-request-id"] != c.get("/hello").headers["x-request-id"]


@pytest.mark.parametrize("strict", [False, True])
def test_root_route_prefix_and_strict_root_route(strict):
    service = UtilMeta(__name__, backend="wsgi", name="t", api=RootAPI, route="/api")
    service.use(Preference(strict_root_route=strict))
    c = TestClient(service)
    assert c.get("/api/hello").text == "world"
    assert c.get("/api/items/1").json() == {"id": 1}
    assert c.get("/hello").status_code == (404 if strict else 200)


def test_duplicate_route_is_refused_at_class_creation():
    with pytest.raises(DeclarationError, match=r"GET /x is declared twice.*Dup\.a.*Dup\.b"):

        class Dup(api.API):
            @api.get("x")
            def a(self) -> str:
                return ""

            @api.get("x")
            def b(self) -> str:
                return ""


def test_conflict_between_endpoint_and_sub_api_is_refused():
    class Sub(api.API):
        def get(self) -> str:
            return ""

    with pytest.raises(DeclarationError, match="declared twice"):

        class Clash(api.API):
            sub: Sub

            @api.get("sub")
            def other(self) -> str:
                return ""


def test_route_variables_with_different_names_conflict():
    with pytest.raises(DeclarationError, match="declared twice"):

        class Vars(api.API):
            @api.get("{a}")
            def one(self, a: int) -> int:
                return a

            @api.get("{b}")
            def two(self, b: int) -> int:
                return b


def test_path_param_not_in_template_is_refused():
    from utilmeta.core import request

    class Bad(api.API):
        @api.get
        def x(self, slug: str = request.PathParam()) -> str:
            return slug

    # the variable may come from a route the class is mounted at (UtilMeta's api.route('{slug}/...')):
    # the check is made when the router knows the whole route
    with pytest.raises(DeclarationError, match=r"Bad\.x: parameter 'slug'.*not in the route template '/x'"):
        TestClient(Bad)


def test_bad_decorator_arguments():
    with pytest.raises(TypeError, match="route must be a string"):
        api.get(123)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="exception types only go to @api.handle"):
        api.before(ValueError)


def test_mount_api_class():
    class Extra(api.API):
        @api.get
        def ping(self) -> str:
            return "pong"

    service = UtilMeta(__name__, backend="wsgi", name="t", api=RootAPI, route="/api")
    service.mount(Extra, "/extra")
    assert TestClient(service).get("/api/extra/ping").text == "pong"


def test_inherited_endpoints_and_override():
    class Base(api.API):
        @api.get
        def a(self) -> str:
            return "base-a"

        @api.get
        def b(self) -> str:
            return "base-b"

    class Child(Base):
        @api.get
        def b(self) -> str:
            return "child-b"

    c = TestClient(Child)
    assert c.get("/a").text == "base-a"
    assert c.get("/b").text == "child-b"
