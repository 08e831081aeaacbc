"""The defaults a security scanner checks (docs/security.md), each switchable in ``Preference``:
``nosniff`` on every answer, a docs page no other site can frame, no version in ``Server``,
error details that never echo raw control characters, and a malformed header block refused."""

from __future__ import annotations

import asyncio
import json

import pytest

from utilmeta import UtilMeta
from utilmeta.conf import Preference
from utilmeta.core import api, response
from utilmeta.core.request import Request
from utilmeta.core.request.wire import screen_head, screen_size
from utilmeta.deploy import ServiceInfo
from utilmeta.deploy.nginx import NginxConfig
from utilmeta.ops import Docs
from utilmeta.testing import TestClient
from utilmeta.utils.exceptions import BadRequest, RequestHeaderFieldsTooLarge, SetupError


class RootAPI(api.API):
    @api.get
    def hello(self) -> str:
        return "world"

    @api.get
    def sniffable(self) -> response.Response:
        return response.Response("x", headers={"X-Content-Type-Options": "custom"})


def _client(*configs: object) -> TestClient:
    service = UtilMeta(__name__, backend="wsgi", api=RootAPI, route="/api")
    for config in configs:
        service.use(config)  # type: ignore[arg-type]
    return TestClient(service)


def test_nosniff_on_every_answer_unless_switched_off() -> None:
    c = _client()
    for path in ("/api/hello", "/api/nowhere"):
        assert c.get(path).headers["x-content-type-options"] == "nosniff"
    assert c.options("/api/hello").headers["x-content-type-options"] == "nosniff"
    assert c.get("/api/sniffable").headers["x-content-type-options"] == "custom"  # the endpoint's own stays
    off = _client(Preference(content_type_nosniff=False))
    assert "x-content-type-options" not in off.get("/api/hello").headers


def test_the_docs_page_cannot_be_framed_unless_allowed() -> None:
    page = _client(Docs()).get("/api/docs")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    allowed = _client(Docs(), Preference(docs_deny_framing=False)).get("/api/docs")
    assert "x-frame-options" not in allowed.headers
    assert "frame-ancestors" not in allowed.headers["content-security-policy"]


@pytest.mark.parametrize(
    "path, shown",
    [
        ("/api/a\x1b[31mred", "no API at /api/a\\x1b[31mred"),
        ("/api/line\nbreak", "no API at /api/line\\nbreak"),
        ("/api/caf\u00e9", "no API at /api/caf\u00e9"),  # printable text stays as it is
    ],
)
def test_a_404_detail_escapes_control_characters(path: str, shown: str) -> None:
    service = UtilMeta(__name__, backend="wsgi", api=RootAPI, route="/api")
    answer = service.router(Request("GET", path))

    assert answer.status == 404
    assert json.loads(answer.body)["detail"] == shown


def test_a_404_detail_is_capped() -> None:
    service = UtilMeta(__name__, backend="wsgi", api=RootAPI, route="/api")

    detail = json.loads(service.router(Request("GET", "/api/" + "\x00" * 5000)).body)["detail"]
    assert detail.endswith("...") and len(detail) < 250


def test_generated_nginx_hides_its_version_and_bounds_slow_clients(tmp_path) -> None:
    info = ServiceInfo(name="demo", backend="flask", app="server:app", root=tmp_path)
    text = NginxConfig(info).render()
    assert "server_tokens off;" in text
    assert "client_header_timeout 15s;" in text and "client_body_timeout 15s;" in text
    shown = NginxConfig(ServiceInfo(name="demo", backend="flask", app="server:app", root=tmp_path, server_tokens=True))
    assert "server_tokens" not in shown.render()


@pytest.mark.parametrize(
    "head, error",
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1", None),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\tb", None),  # HTAB is allowed in a value
        (b"GET / HTTP/1.1\r\nX-A: a\x00b", BadRequest),
        (b"GET / HTTP/1.1\r\nX-A: a\rb", BadRequest),
        (b"GET / HTTP/1.1\r\nX-A: a\nb", BadRequest),
        (b"GET / HTTP/1.1\r\n: empty name", BadRequest),
        (b"GET / HTTP/1.1\r\nContent-Length : 3", BadRequest),  # a space before the colon
        (b"GET / HTTP/1.1\r\n X-A: folded", BadRequest),
        (b"GET / HTTP/1.1\r\nX(A): 1", BadRequest),
        (b"GET / HTTP/1.1\r\nX-A: " + b"v" * 200, RequestHeaderFieldsTooLarge),
    ],
)
def test_screen_head(head: bytes, error: type | None) -> None:
    found = screen_head(head, limit=128)
    assert type(found) is error if error else found is None


def test_screen_size_and_an_asgi_request_over_the_limit() -> None:
    assert screen_size([(b"host", b"x"), (b"x-a", b"v" * 100)], limit=128) is None
    assert isinstance(screen_size([(b"x-a", b"v" * 200)], limit=128), RequestHeaderFieldsTooLarge)
    service = UtilMeta(__name__, backend="asgi", api=RootAPI, route="/api")
    service.use(Preference(max_header_size=1024))
    app = service.application()
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    def call(value: bytes) -> int:
        scope = {"type": "http", "method": "GET", "path": "/api/hello", "headers": [(b"x-big", value)]}
        sent.clear()
        asyncio.run(app(scope, receive, send))
        return sent[0]["status"]

    assert call(b"v" * 1000) == 200
    assert call(b"v" * 1100) == 431


def test_screen_head_never_echoes_a_header_value() -> None:
    error = screen_head(b"GET / HTTP/1.1\r\nAuthorization : Bearer s3cret-token", limit=1024)
    assert isinstance(error, BadRequest)
    assert "Authorization " in error.message and "s3cret" not in error.message


def test_max_header_size_is_refused_where_it_would_do_nothing() -> None:
    service = UtilMeta(__name__, backend="wsgi", api=RootAPI)
    service.use(Preference(max_header_size=1024))
    with pytest.raises(SetupError, match=r"max_header_size=1024\) has no effect on the wsgi backend"):
        service.application()
