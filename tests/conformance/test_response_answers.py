"""What the core answers for the ``/api/responses`` cases (the conformance suite then checks every
backend answers the same): errors through templates, the most specific error hook, responses
built with ``self.response``, cookies and files, server-sent events, every HTTP error class, a
failing API ``__init__`` and header values that are not ``str``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app import make_service
from app_responses import HTTP_ERRORS, NOTES

from utilmeta.core.server.service import _clear_service
from utilmeta.testing import TestClient
from utilmeta.utils import exceptions


@pytest.fixture(scope="module", params=["sync", "async"])
def client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    style = request.param
    c = TestClient(make_service("wsgi" if style == "sync" else "asgi", style, production=True))
    yield c
    c.close()
    _clear_service()


def get(client: TestClient, url: str) -> tuple[int, dict[str, str], bytes]:
    r = client.get("/api/responses/" + url)
    return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content


@pytest.mark.parametrize(
    ("code", "body"),
    [
        (404, {"data": None, "msg": "nothing here", "code": 404}),
        (401, {"data": None, "msg": "log in", "code": 401}),
        (403, {"data": {"partial": True}, "msg": "no", "code": 4031}),
        (500, {"data": None, "msg": "Internal Server Error", "code": 500}),
    ],
)
def test_template_takes_status_and_message_from_the_error(client, code, body):
    status, headers, content = get(client, f"template_error?code={code}")
    assert status == code
    assert msgspec.json.decode(content) == body
    assert b"secret" not in content


def test_response_error_without_template_is_a_problem_document(client):
    status, headers, content = get(client, "plain_error")
    assert status == 409 and headers["content-type"] == "application/problem+json"
    assert msgspec.json.decode(content)["detail"] == "taken"


@pytest.mark.parametrize(
    ("url", "status", "by", "kind"),
    [
        ("handled/bad", 400, "bad-request", "BadRequest"),
        ("handled/parse?n=x", 400, "bad-request", "ParseError"),
        ("handled/missing", 404, "request-error", "NotFound"),
        ("handled/crash", 500, "exception", "ValueError"),
    ],
)
def test_the_most_specific_error_hook_answers(client, url, status, by, kind):
    got, _, content = get(client, url)
    assert got == status
    assert msgspec.json.decode(content) == {"by": by, "type": kind}


def test_an_error_hook_declared_with_error_gets_an_error(client):
    status, _, content = get(client, "handled/typed")
    assert status == 410
    assert msgspec.json.decode(content) == {
        "data": {"type": "Gone", "has_traceback": True},
        "msg": "moved away",
        "code": "archived",
    }


def test_self_response_cookies_and_files(client):
    status, headers, content = get(client, "made")
    assert (status, headers["x-made"], content) == (201, "yes", b'{"made":true}')
    status, headers, content = get(client, "cookies")
    assert "flavour=oat; Path=/; SameSite=lax" in headers["set-cookie"]
    status, headers, content = get(client, "download")
    assert content == NOTES.read_bytes() and headers["content-type"] == "text/plain"
    assert headers["content-disposition"] == "inline; filename*=UTF-8''notes.txt"


def test_a_large_file_is_streamed_with_its_length(client):
    from app_responses import big_file

    from utilmeta.core.response.response import FILE_IN_MEMORY

    content = big_file().read_bytes()
    assert len(content) > FILE_IN_MEMORY
    r = client.get("/api/responses/big_download")
    assert r.response.stream is not None, "a file this large is not read into memory"
    assert r.content == content and r.headers["content-length"] == str(len(content))
    assert r.headers["content-disposition"] == "inline; filename*=UTF-8''utilmeta-conformance-big.bin"
    head = client.head("/api/responses/big_download")
    assert (head.content, head.headers["content-length"]) == (b"", str(len(content)))


def test_utilmeta_response_keywords(client):
    status, headers, content = get(client, "keyed")
    assert msgspec.json.decode(content) == {"page": 1, "code": 200, "data": [1, 2]}
    assert (headers["x-message"], headers["x-total"], headers["x-state"]) == ("%C3%A9t%C3%A9", "2", "200")
    status, headers, content = get(client, "as_attachment")
    assert headers["content-disposition"] == "attachment; filename*=UTF-8''notes.txt"
    status, headers, content = get(client, "event_stream_keyword")
    assert headers["content-type"] == "text/event-stream" and content.startswith(b"event: tick")


def test_template_keys_must_differ():
    from utilmeta.core import response

    with pytest.raises(ValueError, match="share a name"):

        class Clash(response.Response):
            result_key = "data"
            message_key = "data"


def test_server_sent_events(client):
    status, headers, content = get(client, "events")
    assert headers["content-type"] == "text/event-stream" and headers["cache-control"] == "no-cache"
    assert "content-length" not in headers
    assert content == (
        b'event: tick\ndata: {"n":0}\nid: 0\n\n'
        b"event: raw\ndata: as is\n\n"
        b'data: {"n":1}\n\ndata: {"n":2}\n\n'
        b"event: done\ndata: line one\ndata: line two\n\n"
    )
    assert get(client, "aevents")[2] == b"".join(b'event: tick\ndata: {"n":%d}\n\n' % i for i in range(3))
    status, headers, content = get(client, "broken_events")
    assert content == b'data: first\n\nevent: error\ndata: {"status":500,"message":"Internal Server Error"}\n\n'


@pytest.mark.parametrize("name", list(HTTP_ERRORS))
def test_every_http_error_class_is_answered_with_its_status(client, name):
    cls = HTTP_ERRORS[name]
    status, headers, content = get(client, f"error?name={name}")
    assert status == cls.status
    if status == 304:
        assert content == b""
        return
    problem = msgspec.json.decode(content)
    assert problem["status"] == status and headers["content-type"] == "application/problem+json"
    if issubclass(cls, exceptions.Redirect):
        assert headers["location"] == "/elsewhere"


def test_utilmeta_exception_names_and_hierarchy():
    # UtilMeta's utils.exceptions HTTP classes, by name and status
    expected = {
        "BadRequest": 400, "Unauthorized": 401, "PermissionDenied": 403, "NotFound": 404,
        "MethodNotAllowed": 405, "NotAcceptable": 406, "RequestTimeout": 408, "Conflict": 409, "Gone": 410,
        "PreconditionFailed": 412, "RequestEntityTooLarge": 413, "RequestURITooLong": 414,
        "UnsupportedMediaType": 415, "UnprocessableEntity": 422, "Locked": 423, "TooEarly": 425,
        "UpgradeRequired": 426, "PreconditionRequired": 428, "TooManyRequests": 429, "SessionRejected": 403,
        "ServerError": 500, "InternalServerError": 500, "BadResponse": 500, "MaxRetriesExceed": 500,
        "MaxRetriesTimeoutExceed": 500, "NotModified": 304,
    }  # fmt: skip
    for name, status in expected.items():
        assert getattr(exceptions, name).status == status, name
    for name in ("HttpError", "Redirect", "MovePermanently", "RequestError"):
        assert issubclass(getattr(exceptions, name), exceptions.HttpError)
    assert all(
        issubclass(getattr(exceptions, n), exceptions.RequestError) for n, s in expected.items() if s < 500 and s >= 400
    )
    assert issubclass(exceptions.MaxRetriesTimeoutExceed, TimeoutError)
    assert issubclass(exceptions.MaxRetriesExceed, RuntimeError)
    assert exceptions.Unauthorized(auth_scheme="bearer", auth_params={"realm": "api"}).headers == {
        "WWW-Authenticate": 'Bearer realm="api"'
    }
    assert exceptions.MethodNotAllowed(method="PUT", allows=["GET"]).headers == {"Allow": "GET"}


def test_init_failure_and_header_values(client):
    status, headers, content = get(client, "broken/ping")
    assert status == 500 and headers["content-type"] == "application/problem+json"
    assert b"secret" not in content and msgspec.json.decode(content)["title"] == "Internal Server Error"
    status, headers, content = get(client, "header_values")
    assert (status, headers["x-count"], headers["x-ratio"], headers["x-raw"]) == (200, "3", "0.5", "raw-bytes")
    for url, header in (("header_none", "x-unset"), ("header_injection", "x-note"), ("header_unicode", "x-mark")):
        status, headers, content = get(client, url)
        assert status == 500 and headers["content-type"] == "application/problem+json", url
        assert header not in headers and "set-cookie" not in headers, url


def test_a_generator_endpoint_declared_as_an_event_stream(client):
    status, headers, content = get(client, "yielding")
    assert headers["content-type"] == "text/event-stream"
    assert content.count(b"\n\n") == (4 if b"raw" in content else 2)
