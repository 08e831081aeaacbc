"""Request parameters in every location, their types and constraints, and bad input."""

from __future__ import annotations

import dataclasses
import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Optional, TypedDict
from uuid import UUID

import msgspec
import pydantic
import pytest
from optional import optional_import

from utilmeta import UtilMeta
from utilmeta.conf import Preference
from utilmeta.core import api, request
from utilmeta.core.file import File
from utilmeta.testing import TestClient


class Color(enum.Enum):
    red = "red"
    blue = "blue"


class UserStruct(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(max_length=20)]
    age: Annotated[int, msgspec.Meta(ge=0)]
    tags: list[str] = []


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Filter(TypedDict):
    q: str
    page: int


class PydUser(pydantic.BaseModel):
    name: str = pydantic.Field(max_length=5)
    email: str


class QuerySchema(msgspec.Struct):
    page: int = 1
    tags: list[str] = []


class HeaderSchema(msgspec.Struct):
    x_token: str
    user_agent: str = ""


class ParamAPI(api.API):
    @api.get
    def typed(
        self,
        i: int,
        f: float = 0.0,
        b: bool = False,
        s: str = "",
        d: Optional[date] = None,
        dt: Optional[datetime] = None,
        u: Optional[UUID] = None,
        dec: Optional[Decimal] = None,
        color: Color = Color.red,
        mode: Literal["a", "b"] = "a",
        tags: list[int] = [],  # noqa: B006
    ) -> dict:
        return {
            "i": i,
            "f": f,
            "b": b,
            "s": s,
            "d": d,
            "dt": dt,
            "u": u,
            "dec": dec,
            "color": color,
            "mode": mode,
            "tags": tags,
        }

    @api.get
    def constrained(
        self,
        page: int = request.QueryParam(default=1, ge=1, le=100),
        name: Annotated[str, request.QueryParam(max_length=5)] = "abc",
        code: str = request.QueryParam("Code", default="x", regex="^[a-z]+$"),
    ) -> dict:
        return {"page": page, "name": name, "code": code}

    @api.get
    def query_obj(self, query: QuerySchema = request.Query) -> dict:
        return {"page": query.page, "tags": query.tags}

    @api.get
    def query_td(self, query: Filter = request.Query) -> dict:
        return dict(query)

    @api.get
    def headers(
        self,
        token: str = request.HeaderParam("X-Token"),
        accept_language: str = request.HeaderParam(default="en"),
    ) -> dict:
        return {"token": token, "lang": accept_language}

    @api.get
    def header_obj(self, headers: HeaderSchema = request.Headers) -> dict:
        return {"token": headers.x_token}

    @api.get
    def cookies(self, session: str = request.CookieParam(), theme: str = request.CookieParam(default="light")) -> dict:
        return {"session": session, "theme": theme}

    @api.post
    def body_struct(self, user: UserStruct = request.Body) -> UserStruct:
        return user

    @api.post
    def body_dc(self, p: Point = request.Json) -> Point:
        return p

    @api.post
    def body_params(self, name: str = request.BodyParam, age: int = request.BodyParam(ge=0)) -> dict:
        return {"name": name, "age": age}

    @api.post
    def body_pyd(self, user: PydUser = request.Body) -> PydUser:
        return user

    @api.post
    def body_form(self, data: UserStruct = request.Form) -> UserStruct:
        return data

    @api.post
    def body_raw(self, raw: bytes = request.Body) -> dict:
        return {"len": len(raw)}

    @api.post
    def body_text(self, text: str = request.Body) -> str:
        return text.upper()

    @api.post
    def body_small(self, data: dict = request.Body(max_length=10)) -> dict:
        return data

    @api.post
    def body_optional(self, data: Optional[dict] = request.Body(default=None)) -> dict:
        return {"data": data}

    @api.post
    def upload(
        self,
        file: File = request.BodyParam(max_length=1000),
        files: list[File] = request.BodyParam(default=[]),
        note: str = request.BodyParam(default=""),
    ) -> dict:
        return {
            "name": file.filename,
            "size": file.size,
            "content": file.read().decode(),
            "others": [f.filename for f in files],
            "note": note,
        }

    @api.get("path/{slug}/{rest}")
    def paths(
        self,
        slug: str = request.SlugPathParam(),
        rest: str = request.FilePathParam(),
    ) -> dict:
        return {"slug": slug, "rest": rest}

    @api.get("num/{n}")
    def num(self, n: int = request.PathParam(regex=r"\d+", ge=10)) -> int:
        return n

    @api.get
    def req(self) -> dict:
        r = self.request
        return {
            "method": r.method,
            "path": r.path,
            "query": r.query,
            "url": r.url,
            "ip": r.ip_address,
            "ctype": r.content_type,
            "cookies": r.cookies,
            "time": isinstance(r.time, datetime),
            "host": r.headers["Host"],
        }

    @api.post
    def req_body(self) -> dict:
        return {"data": self.request.data, "body": self.request.body.decode()}


@pytest.fixture()
def c() -> TestClient:
    return TestClient(ParamAPI)


def errors(r) -> list:
    assert r.status_code == 400, r.content
    assert r.headers["content-type"] == "application/problem+json"
    return r.json()["errors"]


def test_lax_conversion_of_query_strings(c):
    r = c.get(
        "/typed",
        params=[
            ("i", "3"),
            ("f", "1.5"),
            ("b", "true"),
            ("s", "x"),
            ("d", "2024-01-02"),
            ("dt", "2024-01-02T03:04:05"),
            ("u", "12345678-1234-5678-1234-567812345678"),
            ("dec", "1.10"),
            ("color", "blue"),
            ("mode", "b"),
            ("tags", "1"),
            ("tags", "2"),
        ],
    )
    assert r.status_code == 200, r.content
    assert r.json() == {
        "i": 3,
        "f": 1.5,
        "b": True,
        "s": "x",
        "d": "2024-01-02",
        "dt": "2024-01-02T03:04:05",
        "u": "12345678-1234-5678-1234-567812345678",
        "dec": "1.10",
        "color": "blue",
        "mode": "b",
        "tags": [1, 2],
    }


def test_missing_and_wrong_query_parameters_are_all_reported(c):
    assert errors(c.get("/typed")) == [{"location": "query", "name": "i", "message": "required, not given"}]
    errs = errors(c.get("/typed?i=x"))
    assert errs == [{"location": "query", "name": "i", "message": "Expected int, got str"}]
    errs = errors(c.get("/typed?i=1&mode=c"))
    assert errs[0]["name"] == "mode" and "'a', 'b'" in errs[0]["message"]
    assert errors(c.get("/typed?i=1&color=green"))[0]["name"] == "color"
    assert errors(c.get("/typed?i=1&tags=1&tags=x"))[0]["name"] == "tags[1]"


def test_constraints(c):
    assert c.get("/constrained?page=5&name=ab&Code=xy").json() == {"page": 5, "name": "ab", "code": "xy"}
    assert (
        errors(c.get("/constrained?page=0"))[0]
        == {"location": "query", "name": "page", "message": "Expected int >= 1, got str"}
        or errors(c.get("/constrained?page=0"))[0]["name"] == "page"
    )
    assert "length <= 5" in errors(c.get("/constrained?name=toolong"))[0]["message"]
    assert errors(c.get("/constrained?Code=X1"))[0]["name"] == "Code"


def test_query_container(c):
    assert c.get("/query_obj?page=2&tags=a&tags=b").json() == {"page": 2, "tags": ["a", "b"]}
    assert c.get("/query_td?q=x&page=3").json() == {"q": "x", "page": 3}
    assert errors(c.get("/query_td?q=x"))[0] == {"location": "query", "name": "page", "message": "required, not given"}


def test_headers(c):
    assert c.get("/headers", headers={"x-token": "t", "Accept-Language": "fr"}).json() == {"token": "t", "lang": "fr"}
    assert errors(c.get("/headers")) == [{"location": "header", "name": "x-token", "message": "required, not given"}]
    assert c.get("/header_obj", headers={"X-Token": "abc"}).json() == {"token": "abc"}
    assert errors(c.get("/header_obj"))[0]["location"] == "header"


def test_cookies(c):
    assert c.get("/cookies", cookies={"session": "s1"}).json() == {"session": "s1", "theme": "light"}
    assert errors(c.get("/cookies"))[0] == {"location": "cookie", "name": "session", "message": "required, not given"}


def test_json_body_struct_is_strict(c):
    assert c.post("/body_struct", json={"name": "a", "age": 3}).json() == {"name": "a", "age": 3, "tags": []}
    assert errors(c.post("/body_struct", json={"name": "a", "age": "3"}))[0] == {
        "location": "body",
        "name": "age",
        "message": "Expected int, got str",
    }
    assert "length <= 20" in errors(c.post("/body_struct", json={"name": "x" * 21, "age": 1}))[0]["message"]
    assert errors(c.post("/body_struct", json={"name": "a"}))[0]["name"] == "age"
    assert errors(c.post("/body_struct", json=[1]))[0]["message"] == "Expected object, got array"


def test_malformed_json_and_missing_body(c):
    r = c.post("/body_struct", content=b'{"name": ', headers={"content-type": "application/json"})
    assert errors(r)[0]["location"] == "body" and "malformed" in errors(r)[0]["message"]
    assert errors(c.post("/body_struct"))[0]["message"] == "a request body is required"


def test_wrong_content_type_is_415(c):
    r = c.post("/body_struct", content=b"name=a", headers={"content-type": "text/plain"})
    assert r.status_code == 415
    assert "text/plain" in r.json()["detail"] and "application/json" in r.json()["detail"]
    r = c.post("/body_dc", data={"x": "1", "y": "2"})
    assert r.status_code == 415
    r = c.post("/body_struct", content=b'{"name": "a", "age": 1}')
    assert r.status_code == 415 and "no Content-Type" in r.json()["detail"]


def test_json_suffix_content_type_is_json(c):
    r = c.post("/body_dc", content=b'{"x": 1, "y": 2}', headers={"content-type": "application/merge-patch+json"})
    assert r.json() == {"x": 1, "y": 2}


def test_body_params(c):
    assert c.post("/body_params", json={"name": "n", "age": 2}).json() == {"name": "n", "age": 2}
    assert errors(c.post("/body_params", json={"name": "n", "age": -1}))[0]["name"] == "age"
    assert c.post("/body_params", data={"name": "n", "age": "5"}).json() == {"name": "n", "age": 5}


def test_pydantic_body_validated_by_pydantic(c):
    assert c.post("/body_pyd", json={"name": "ab", "email": "e"}).json() == {"name": "ab", "email": "e"}
    errs = errors(c.post("/body_pyd", json={"name": "abcdefg", "email": "e"}))
    assert errs[0]["location"] == "body" and errs[0]["name"] == "name" and "5" in errs[0]["message"]


def test_form_bodies(c):
    r = c.post("/body_form", data={"name": "a", "age": "4", "tags": ["x", "y"]})
    assert r.json() == {"name": "a", "age": 4, "tags": ["x", "y"]}
    r = c.post("/body_form", files={"f": ("a.txt", b"x")}, data={"name": "b", "age": "1"})
    assert r.status_code == 200 and r.json()["name"] == "b"
    assert errors(c.post("/body_form", data={"name": "a", "age": "old"}))[0]["name"] == "age"


def test_raw_bodies(c):
    assert c.post(
        "/body_raw", content=b"\x00\x01\x02", headers={"content-type": "application/octet-stream"}
    ).json() == {"len": 3}
    assert c.post("/body_text", content="héllo", headers={"content-type": "text/plain"}).text == "HÉLLO"
    r = c.post("/body_text", content=b"\xff\xfe", headers={"content-type": "text/plain"})
    assert errors(r)[0]["message"] == "the body is not valid UTF-8 text"


def test_body_size_limits(c):
    r = c.post("/body_small", json={"key": "a long value"})
    assert r.status_code == 413 and "limit of 10 bytes" in r.json()["detail"]
    assert c.post("/body_optional").json() == {"data": None}

    class Big(api.API):
        @api.post
        def any(self, data: dict = request.Body) -> int:
            return len(data)

    service = UtilMeta(__name__, backend="wsgi", name="limits", api=Big)
    service.use(Preference(max_body_size=100, json_max_depth=5))
    sc = TestClient(service)
    assert sc.post("/any", json={"a": "x" * 200}).status_code == 413
    assert sc.post("/any", json={"a": [[[[1]]]]}).status_code == 200
    deep = sc.post("/any", json={"a": [[[[[[1]]]]]]})
    assert deep.status_code == 400 and "nested deeper" in deep.json()["detail"]


def test_very_deep_json_is_400_not_500(c):
    body = b"[" * 100_000 + b"]" * 100_000
    r = c.post("/body_struct", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400


def test_file_uploads(c):
    r = c.post(
        "/upload",
        files={"file": ("a.txt", b"hello", "text/plain"), "files": [("b.txt", b"1"), ("c.txt", b"2")]},
        data={"note": "n"},
    )
    assert r.status_code == 200, r.content
    assert r.json() == {"name": "a.txt", "size": 5, "content": "hello", "others": ["b.txt", "c.txt"], "note": "n"}
    r = c.post("/upload", files={"file": ("big.bin", b"x" * 1001)})
    assert r.status_code == 413 and "'file'" in r.json()["detail"]
    assert errors(c.post("/upload", files={"files": ("b.txt", b"1")}))[0]["name"] == "file"
    assert c.post("/upload", json={"file": "x"}).status_code == 415
    bad = c.post("/upload", content=b"garbage", headers={"content-type": "multipart/form-data; boundary=zz"})
    assert bad.status_code == 400


def test_path_param_kinds(c):
    assert c.get("/path/my-slug/a/b/c.txt").json() == {"slug": "my-slug", "rest": "a/b/c.txt"}
    assert c.get("/path/bad slug/x").status_code == 404
    assert c.get("/num/12").json() == 12
    assert c.get("/num/abc").status_code == 404  # the route regex does not match
    assert errors(c.get("/num/5"))[0] == {"location": "path", "name": "n", "message": "Expected int >= 10"}


def test_request_object(c):
    r = c.get("/req?a=1&a=2&b=3", cookies={"k": "v"}, headers={"X-Forwarded-For": "203.0.113.9"})
    body = r.json()
    assert body["method"] == "GET" and body["path"] == "/req"
    assert body["query"] == {"a": "2", "b": "3"}
    assert body["url"] == "http://testserver/req?a=1&a=2&b=3"
    assert body["ip"] == "203.0.113.9"
    assert body["cookies"] == {"k": "v"}
    assert body["time"] is True and body["host"] == "testserver"
    assert c.post("/req_body", json={"x": 1}).json() == {"data": {"x": 1}, "body": '{"x":1}'}
    assert c.post("/req_body", data={"x": "1"}).json() == {"data": {"x": "1"}, "body": "x=1"}


def test_forwarded_for_only_from_trusted_proxies():
    untrusted = TestClient(ParamAPI, client_addr="198.51.100.7")
    assert untrusted.get("/req", headers={"X-Forwarded-For": "203.0.113.9"}).json()["ip"] == "198.51.100.7"
    trusted = TestClient(ParamAPI)
    chain = "203.0.113.9, 10.0.0.1, 127.0.0.1"
    # walk from the right, skipping trusted proxies: 10.0.0.1 is not trusted, so it is the client
    assert trusted.get("/req", headers={"X-Forwarded-For": chain}).json()["ip"] == "10.0.0.1"
    assert trusted.get("/req", headers={"X-Forwarded-For": "garbage"}).json()["ip"] == "127.0.0.1"


def test_positional_only_and_unresolvable_hints_are_declaration_errors():
    from utilmeta.utils.exceptions import DeclarationError

    with pytest.raises(DeclarationError, match="positional-only"):

        class P(api.API):
            @api.get
            def x(self, a: int, /) -> int:
                return a

    with pytest.raises(DeclarationError, match="cannot resolve type hints"):

        class H(api.API):
            @api.get
            def y(self, a: Undefined) -> int:  # type: ignore[name-defined]  # noqa: F821
                return 1

    with pytest.raises(DeclarationError, match="need a multipart body"):

        class J(api.API):
            @api.post
            def z(self, f: File = request.BodyParam, meta: dict = request.Json) -> int:
                return 1


def test_utype_schema_validated_by_utype():
    utype = optional_import("utype", "pip install 'utilmeta[utype]'")

    class Login(utype.Schema):
        name: str = utype.Field(max_length=3)
        age: int

    class U(api.API):
        @api.post
        def login(self, data: Login = request.Body) -> dict:
            return {"name": data.name, "age": data.age}

    c = TestClient(U)
    assert c.post("/login", json={"name": "ab", "age": 3}).json() == {"name": "ab", "age": 3}
    assert errors(c.post("/login", json={"name": "abcd", "age": 3}))[0]["name"] == "name"
    assert errors(c.post("/login", json={"name": "ab"}))[0] == {
        "location": "body",
        "name": "age",
        "message": "required, not given",
    }


BAD_INPUT = {
    # location: (endpoint, what to send, the parameter the error must name)
    "query": ("/typed", {"params": {"i": "nope"}}, "i"),
    "query-missing": ("/typed", {}, "i"),
    "query-too-long": ("/constrained", {"params": {"name": "x" * 50}}, "name"),
    "path": ("/num/5", {}, "n"),
    "header": ("/headers", {"headers": {"Accept-Language": "fr"}}, "x-token"),
    "header-container": ("/header_obj", {"headers": {"user-agent": "x"}}, "x_token"),
    "cookie": ("/cookies", {"cookies": {"theme": "dark"}}, "session"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_in_every_location_names_location_and_parameter(c, case):
    path, kwargs, name = BAD_INPUT[case]
    location = case.split("-")[0]
    errs = errors(c.get(path, **kwargs))
    assert errs[0]["location"] == location and errs[0]["name"] == name and errs[0]["message"]


@pytest.mark.parametrize(
    "kwargs, status",
    [
        ({"json": {"name": 1, "age": 1}}, 400),  # wrong type
        ({"json": {"age": 1}}, 400),  # missing
        ({"json": {"name": "x" * 21, "age": 1}}, 400),  # too long
        ({"content": b"{", "headers": {"content-type": "application/json"}}, 400),  # malformed
        ({"content": b"<xml/>", "headers": {"content-type": "application/xml"}}, 415),  # wrong content type
        ({"content": b"\xff", "headers": {"content-type": "application/json"}}, 400),  # not UTF-8
    ],
)
def test_bad_bodies(c, kwargs, status):
    r = c.post("/body_struct", **kwargs)
    assert r.status_code == status
    body = r.json()
    assert body["status"] == status and body["detail"]
    if status == 400:
        assert body["errors"][0]["location"] == "body"


def test_allowed_hosts_and_trusted_proxy_networks():
    service = UtilMeta(__name__, backend="wsgi", name="hosts", api=ParamAPI)
    service.use(Preference(allowed_hosts=[".example.com"], trusted_proxies=["10.0.0.0/8"]))
    c = TestClient(service, base_url="http://api.example.com", client_addr="10.1.2.3")
    assert c.get("/req", headers={"X-Forwarded-For": "203.0.113.5"}).json()["ip"] == "203.0.113.5"
    r = c.get("/req", headers={"host": "evil.test"})
    assert r.status_code == 400 and "evil.test" in r.json()["detail"]
    loopback = TestClient(service, base_url="http://example.com")
    assert loopback.get("/req", headers={"X-Forwarded-For": "203.0.113.5"}).json()["ip"] == "127.0.0.1"


def test_uploaded_files_are_closed_after_the_response():
    kept: list[File] = []

    class Keep(api.API):
        @api.post
        def up(self, f: File = request.BodyParam) -> int:
            kept.append(f)
            return f.size

    assert TestClient(Keep).post("/up", files={"f": ("a.bin", b"x" * 10)}).json() == 10
    assert kept[0].closed


class DocumentedFilters(msgspec.Struct):
    tag: Annotated[list[str], msgspec.Meta(description="tags")] = []


class DocumentedTagAPI(api.API):
    @api.get
    def tags(self, q: DocumentedFilters = request.Query) -> list[str]:
        return q.tag


def test_a_documented_list_field_of_a_whole_query_takes_every_value() -> None:
    # Annotated[list[str], Meta(description=...)] is still a list: ?tag=a&tag=b gives both
    assert TestClient(DocumentedTagAPI).get("/tags?tag=a&tag=b").json() == ["a", "b"]
