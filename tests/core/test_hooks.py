"""before / after / handle hooks, plugins and CORS."""

from __future__ import annotations

import pytest

from utilmeta.core import api, request, response
from utilmeta.testing import TestClient
from utilmeta.utils import exceptions as exc


class Envelope(response.Response):
    result_key = "result"
    message_key = "error"


class UserAPI(api.API):
    @api.get
    def me(self) -> dict:
        return {"user": self.request.context["user"]}

    @api.get
    def fail(self) -> None:
        raise exc.Conflict("taken")

    @api.get
    def crash(self) -> None:
        raise KeyError("k")

    @api.after("me")
    def stamp(self, resp: response.Response) -> None:
        resp.headers["X-Inner-After"] = "1"

    @api.handle(fail, exc.Conflict)
    def on_conflict(self, error: exc.Conflict) -> dict:
        return {"handled": error.message}


class RootAPI(api.API):
    user: UserAPI

    @api.get
    def public(self) -> str:
        return "open"

    @api.get
    def guarded(self) -> str:
        return "secret"

    @api.before("user", guarded)
    def auth(self, token: str = request.HeaderParam("X-Token")) -> None:
        if token != "good":
            raise exc.Unauthorized("bad token")
        self.request.context["user"] = "alice"

    @api.after("*")
    def outer(self, resp: response.Response) -> None:
        resp.headers["X-Outer-After"] = "1"

    @api.handle("*", KeyError)
    def on_key(self, error: KeyError) -> Envelope:
        return Envelope(message=f"missing {error}", status=422)


@pytest.fixture()
def c() -> TestClient:
    return TestClient(RootAPI)


def test_before_hook_targets_and_parameters(c):
    assert c.get("/public").text == "open"
    r = c.get("/guarded")
    assert r.status_code == 400  # the hook's header parameter is missing
    assert r.json()["errors"][0] == {"location": "header", "name": "x-token", "message": "required, not given"}
    assert c.get("/guarded", headers={"X-Token": "bad"}).status_code == 401
    assert c.get("/guarded", headers={"X-Token": "good"}).text == "secret"


def test_outer_hooks_wrap_sub_apis(c):
    r = c.get("/user/me", headers={"X-Token": "good"})
    assert r.json() == {"user": "alice"}
    assert r.headers["x-inner-after"] == "1" and r.headers["x-outer-after"] == "1"
    assert c.get("/user/me").status_code == 400
    assert c.get("/public").headers["x-outer-after"] == "1"


def test_handle_hooks_inner_first_and_by_type(c):
    r = c.get("/user/fail", headers={"X-Token": "good"})
    assert (r.status_code, r.json()) == (409, {"handled": "taken"})
    r = c.get("/user/crash", headers={"X-Token": "good"})
    assert (r.status_code, r.json()) == (422, {"result": None, "error": "missing 'k'"})


def test_after_hook_return_replaces_response_and_template_applies():
    class A(api.API):
        @api.get
        def v(self) -> int:
            return 1

        @api.after(v)
        def wrap(self, resp: response.Response) -> Envelope:
            return {"was": resp.result}

    assert TestClient(A).get("/v").json() == {"result": {"was": 1}, "error": ""}


def test_hook_raising_in_handler_renders_the_new_error():
    class A(api.API):
        @api.get
        def v(self) -> int:
            raise ValueError("x")

        @api.handle(v)
        def h(self, e: Exception) -> None:
            raise exc.Gone("replaced")

    r = TestClient(A).get("/v")
    assert r.status_code == 410 and r.json()["detail"] == "replaced"


class Counter(api.Plugin):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def process_request(self, request):
        self.seen.append(request.path)
        if request.query.get("short"):
            return response.Response("short-circuited", status=418)
        return None

    def process_response(self, request, resp):
        resp.headers["X-Plugin"] = "1"
        return None

    def handle_error(self, request, error):
        if isinstance(error, ZeroDivisionError):
            return response.Response({"math": "bad"}, status=400)
        return None


def test_plugins_on_class_and_endpoint():
    counter = Counter()
    endpoint_counter = Counter()

    @counter
    class P(api.API):
        @api.get
        def a(self) -> str:
            return "a"

        @endpoint_counter
        @api.get
        def b(self) -> float:
            return 1 / 0

    c = TestClient(P)
    assert c.get("/a").headers["x-plugin"] == "1"
    r = c.get("/a?short=1")
    assert (r.status_code, r.text) == (418, "short-circuited")
    assert c.get("/b").json() == {"math": "bad"}
    assert counter.seen == ["/a", "/a", "/b"] and endpoint_counter.seen == ["/b"]


def test_cors_preflight_and_simple_requests():
    @api.CORS(allow_origin=["https://app.example"], allow_credentials=True, max_age=600, expose_headers="X-Total")
    class C(api.API):
        def get(self) -> str:
            return "ok"

        def post(self) -> str:
            return "posted"

    c = TestClient(C)
    r = c.options(
        "/",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-Custom",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "https://app.example"
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-allow-headers"] == "X-Custom"
    assert r.headers["access-control-max-age"] == "600"
    assert "POST" in r.headers["access-control-allow-methods"]
    r = c.get("/", headers={"Origin": "https://app.example"})
    assert r.headers["access-control-allow-origin"] == "https://app.example"
    assert r.headers["access-control-expose-headers"] == "X-Total" and r.headers["vary"] == "Origin"
    r = c.get("/", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    assert "access-control-allow-origin" not in c.options("/", headers={"Origin": "https://evil.example"}).headers


def test_cors_star_with_credentials_is_refused():
    with pytest.raises(exc.DeclarationError, match="credentials"):
        api.CORS(allow_origin="*", allow_credentials=True)


def test_cors_any_origin():
    @api.CORS()
    class C(api.API):
        def get(self) -> str:
            return "ok"

    r = TestClient(C).get("/", headers={"Origin": "https://x.example"})
    assert r.headers["access-control-allow-origin"] == "*"


def test_endpoint_cannot_be_a_hook():
    with pytest.raises(exc.DeclarationError, match="cannot also be a hook"):

        class A(api.API):
            @api.get
            @api.before("*")
            def both(self) -> None:
                pass
