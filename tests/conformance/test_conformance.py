"""One behaviour, six backends: every case must answer exactly what the core answers in-process
(status, body bytes and the headers that carry meaning), on every backend, sync and async."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import app_responses
from app import SLOW_SECONDS, make_service
from backends_table import Cell
from harness import Answer, Client, served
from moved import CASES as MOVED_CASES

from utilmeta.core.server.service import _clear_service
from utilmeta.testing import TestClient

BIG = "x" * (300 * 1024)

#: id → (method, url, httpx keyword arguments)
CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "text": ("GET", "/api/hello", {}),
    "no-prefix": ("GET", "/hello", {}),
    "trailing-slash": ("GET", "/api/hello/", {}),
    "json": ("GET", "/api/json", {}),
    "empty": ("GET", "/api/empty", {}),
    "binary": ("GET", "/api/binary", {}),
    "path+query": ("GET", "/api/items/5?q=x&limit=3", {}),
    "literal-beats-variable": ("GET", "/api/items/special", {}),
    "path-type-error": ("GET", "/api/items/abc", {}),
    "query-constraint": ("GET", "/api/items/5?limit=0", {}),
    "file-path": ("GET", "/api/items/files/a/b%20c/d.txt", {}),
    "unicode-path": ("GET", "/api/items/files/%C3%A9t%C3%A9", {}),
    "typed-query": ("GET", "/api/typed?flag=true&ratio=2.5&mode=b&tags=1&tags=2&note=n", {}),
    "literal-error": ("GET", "/api/typed?mode=z", {}),
    "list-item-error": ("GET", "/api/typed?tags=1&tags=x", {}),
    "headers-cookies": ("GET", "/api/headers", {"headers": {"X-Token": "t", "Cookie": "session=s1"}}),
    "missing-header": ("GET", "/api/headers", {}),
    "json-body": ("POST", "/api/users", {"json": {"name": "ann", "age": 3, "tags": ["a"]}}),
    "json-wrong-type": ("POST", "/api/users", {"json": {"name": "ann", "age": "3"}}),
    "json-missing": ("POST", "/api/users", {"json": {"name": "ann"}}),
    "json-too-long": ("POST", "/api/users", {"json": {"name": "n" * 21, "age": 1}}),
    "json-unknown-field": ("POST", "/api/users", {"json": {"name": "a", "age": 1, "admin": True}}),
    "json-malformed": (
        "POST",
        "/api/users",
        {"content": b'{"name": ', "headers": {"Content-Type": "application/json"}},
    ),
    "json-not-utf8": ("POST", "/api/users", {"content": b"\xff\xfe", "headers": {"Content-Type": "application/json"}}),
    "wrong-content-type": ("POST", "/api/users", {"content": b"<a/>", "headers": {"Content-Type": "application/xml"}}),
    "no-body": ("POST", "/api/users", {}),
    "too-large": ("POST", "/api/users", {"json": {"name": BIG, "age": 1}}),
    "urlencoded": ("POST", "/api/form", {"data": {"name": "n", "age": "7"}}),
    "multipart-fields": ("POST", "/api/form", {"files": {"name": (None, b"m")}, "data": {"age": "8"}}),
    "upload": (
        "POST",
        "/api/upload",
        {"files": {"file": ("a.bin", bytes(range(40)), "application/x-bin")}, "data": {"note": "n"}},
    ),
    "upload-too-big": ("POST", "/api/upload", {"files": {"file": ("big.bin", b"\0" * (65 * 1024))}}),
    "upload-as-json": ("POST", "/api/upload", {"json": {"file": "x"}}),
    "put": ("PUT", "/api/echo", {"json": {"a": [1, {"b": None}]}}),
    "patch": ("PATCH", "/api/echo", {"json": {"a": 1}}),
    "delete": ("DELETE", "/api/echo", {}),
    "head": ("HEAD", "/api/json", {}),
    "options": ("OPTIONS", "/api/echo", {}),
    "method-not-allowed": ("POST", "/api/hello", {}),
    "not-found": ("GET", "/api/nope/deeper", {}),
    "index": ("GET", "/api", {}),
    "index-slash": ("GET", "/api/", {}),
    "outside-root-route": ("GET", "/", {}),
    "template": ("GET", "/api/wrapped/items", {}),
    "template-error": ("GET", "/api/wrapped/denied", {}),
    "server-error": ("GET", "/api/crash", {}),
    "not-implemented": ("GET", "/api/not_implemented", {}),
    "before-hook-refuses": ("GET", "/api/guarded", {}),
    "before-hook-passes": ("GET", "/api/guarded", {"headers": {"X-Key": "open"}}),
    "forwarded-for": (
        "GET",
        "/api/client",
        {"headers": {"X-Forwarded-For": "203.0.113.7, 10.0.0.2", "X-Forwarded-Proto": "https"}},
    ),
    # UtilMeta's class-level ("general") parameters, path templates with defaults, segment regexes, hook path params
    "general-params": (
        "GET",
        "/api/general/me?limit=3",
        {"headers": {"X-Token": "t1", "Cookie": "session=s1"}},
    ),
    "general-defaults": ("GET", "/api/general/me", {"headers": {"X-Token": "t1"}}),
    "general-missing": ("GET", "/api/general/me", {}),
    "general-invalid": ("GET", "/api/general/me?limit=0", {"headers": {"X-Token": "t1"}}),
    "general-in-sub-api": ("GET", "/api/general/articles/how-to-guide", {"headers": {"X-Token": "t1"}}),
    "general-in-sub-api-missing": ("GET", "/api/general/articles/how-to-guide", {}),
    "slug-mismatch": ("GET", "/api/general/articles/How_To", {"headers": {"X-Token": "t1"}}),
    "hook-path-param": (
        "GET",
        "/api/general/articles/how-to-guide/comments/2?reader=ann",
        {"headers": {"X-Token": "t1"}},
    ),
    "hook-path-param-refuses": ("GET", "/api/general/articles/locked/comments", {"headers": {"X-Token": "t1"}}),
    "path-default-left-out": ("GET", "/api/general/doc/en", {"headers": {"X-Token": "t1"}}),
    "path-default-given": ("GET", "/api/general/doc/zh/3", {"headers": {"X-Token": "t1"}}),
    "path-default-invalid": ("GET", "/api/general/doc/en/0", {"headers": {"X-Token": "t1"}}),
    "path-required-left-out": ("GET", "/api/general/doc", {"headers": {"X-Token": "t1"}}),
    "path-regex": ("GET", "/api/general/code/abc", {"headers": {"X-Token": "t1"}}),
    "path-regex-mismatch": ("GET", "/api/general/code/abcdefghij", {"headers": {"X-Token": "t1"}}),
    **app_responses.CASES,
}

# code written for UtilMeta (tests/conformance/moved.py): the same answer everywhere, and the right one
CASES.update({f"moved:{case}": (method, url, kwargs) for case, (method, url, kwargs, _) in MOVED_CASES.items()})

#: headers whose value must be the same everywhere (others — Date, Server, … — are the server's business)
MEANINGFUL = (
    *("content-type", "allow", "location", "x-request-id", "x-served-by", "access-control-allow-origin"),
    *("set-cookie", "content-disposition", "cache-control", "www-authenticate", "x-made", "x-count", "x-raw"),
    *("x-message", "x-total", "x-state"),
)


def reference(style: str, production: bool = False) -> TestClient:
    return TestClient(make_service("wsgi" if style == "sync" else "asgi", style, production))


def _reference_answer(client: TestClient, method: str, url: str, kwargs: dict[str, Any]) -> Answer:
    import httpx

    # build the exact bytes httpx would send, then replay them in-process
    request = httpx.Request(method, "http://testserver" + url, **kwargs)
    body = request.read()
    headers = {
        k: v
        for k, v in request.headers.items()
        if k.lower() not in ("host", "accept-encoding", "connection", "user-agent")
    }
    r = client.request(
        method,
        request.url.raw_path.decode("ascii").split("?")[0]
        + ("?" + request.url.query.decode() if request.url.query else ""),
        headers=headers,
        content=body or None,
    )
    return Answer(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)


def compare(case: str, got: Answer, want: Answer) -> None:
    assert got.status == want.status, f"{case}: status {got.status} != {want.status}\n{got.body[:500]!r}"
    assert got.body == want.body, f"{case}: body differs\n got: {got.body[:500]!r}\nwant: {want.body[:500]!r}"
    for name in MEANINGFUL:
        assert got.headers.get(name) == want.headers.get(name), f"{case}: header {name}: {got.headers.get(name)!r}"
    if want.status not in (204, 304) and not case.startswith("head"):
        assert got.headers.get("content-length", str(len(got.body))) == str(len(got.body))


@contextlib.contextmanager
def _client(
    cell: Cell, tmp: pytest.TempPathFactory, production: bool = False, strict: bool = False
) -> Iterator[Client]:
    if cell.own_server:
        folder = tmp.mktemp(str(cell))
        with served(cell.name, cell.style, folder, production=production, strict=strict) as (url, _proc):
            client = Client(base_url=url)
            yield client
            client.close()
    else:
        service = make_service(cell.name, cell.style, production=production, strict=strict)
        client = Client(service.application())
        yield client
        client.close()
    _clear_service()


def test_the_root_route_answers_the_services_index(references: dict[str, TestClient]) -> None:
    # what the banner and the README point at (http://127.0.0.1:8000/api) tells where to go next;
    # the conformance cases then hold every backend to these very bytes
    for style, reference_client in references.items():
        answer = reference_client.get("/api")
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
        index = answer.json()
        assert {k: index[k] for k in ("name", "version", "docs", "openapi")} == {
            "name": "conformance",
            "version": "1.0.0",
            "docs": "/api/docs",
            "openapi": "/api/openapi.json",
        }
        routes = {(r["method"], r["path"]) for r in index["routes"]}
        assert ("GET", "/api/hello") in routes and ("POST", "/api/users") in routes, style
        assert not any(path.startswith(("/api/docs", "/api/openapi")) or path == "/api" for _, path in routes)
        for link in (index["docs"], index["openapi"]):
            assert reference_client.get(link).status_code in (200, 503), link  # 503: no UI package to serve
        outside = reference_client.get("/").json()
        assert (outside["status"], outside["detail"]) == (404, "no API at /; the API is at /api")


@pytest.fixture(scope="module")
def client(backend: Cell, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    with _client(backend, tmp_path_factory) as c:
        yield c


@pytest.fixture(scope="module")
def references() -> Iterator[dict[str, TestClient]]:
    clients = {"sync": reference("sync"), "async": reference("async")}
    yield clients
    for c in clients.values():
        c.close()


@pytest.mark.parametrize("case", list(CASES))
def test_same_answer_as_the_core(backend, client, references, case):
    method, url, kwargs = CASES[case]
    headers = {**kwargs.get("headers", {}), "X-Request-ID": "conf-" + case.replace("+", "_")}
    sent = {**kwargs, "headers": headers}
    got = client.send(method, url, **sent)
    want = _reference_answer(references[backend.style], method, url, sent)
    compare(case, got, want)


@pytest.mark.parametrize("case", list(MOVED_CASES))
@pytest.mark.parametrize("style", ["sync", "async"])
def test_code_written_for_utilmeta_gets_the_documented_status(references, style, case):
    method, url, kwargs, status = MOVED_CASES[case]
    got = _reference_answer(references[style], method, url, kwargs)
    assert got.status == status, f"{case}: {got.status} {got.body[:300]!r}"
    if status == 400:
        assert got.json()["errors"], got.body


#: cases whose answer changes in production (no exception details) or with ``strict_root_route``
STRICT_PRODUCTION_CASES = (
    "text",
    "no-prefix",
    "not-found",
    "index",
    "outside-root-route",
    "server-error",
    "not-implemented",
    "json-malformed",
    "template-error",
)


@pytest.fixture(scope="module")
def strict_production(backend: Cell, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    with _client(backend, tmp_path_factory, production=True, strict=True) as c:
        yield c


@pytest.fixture(scope="module")
def strict_references() -> Iterator[dict[str, TestClient]]:
    clients = {
        style: TestClient(make_service("wsgi" if style == "sync" else "asgi", style, production=True, strict=True))
        for style in ("sync", "async")
    }
    yield clients
    for client in clients.values():
        client.close()


@pytest.mark.parametrize("case", STRICT_PRODUCTION_CASES)
def test_strict_root_route_and_production_errors(backend, strict_production, strict_references, case):
    method, url, kwargs = CASES[case]
    sent = {**kwargs, "headers": {**kwargs.get("headers", {}), "X-Request-ID": "strict-" + case}}
    got = strict_production.send(method, url, **sent)
    want = _reference_answer(strict_references[backend.style], method, url, sent)
    compare(case, got, want)
    if case in ("no-prefix", "index"):  # the index follows the docs: off in production
        assert got.status == 404, f"strict_root_route and production: {url} must be a 404"
    if case == "server-error":
        assert got.status == 500
        assert b"internal detail" not in got.body and b"Traceback" not in got.body


def test_sync_endpoints_never_block_the_loop(client):
    started = time.perf_counter()
    answers = client.send_many("GET", "/api/slow", 4)
    elapsed = time.perf_counter() - started
    assert [a.status for a in answers] == [200] * 4
    assert elapsed < SLOW_SECONDS * 2.5, f"4 concurrent slow requests took {elapsed:.2f}s"
