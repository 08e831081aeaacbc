"""A corpus of raw HTTP/1.1 requests, valid and invalid (RFC 9110 / 9112), with what each must get.

Every request goes on a fresh connection to ``/api/digest`` (POST: answers ``"<sha256[:16]> <length>"``
of the body the endpoint received) or ``/api/hello`` (GET: ``"world"``). The rules:

- ``ok``: the answer has this status, and for a body, the endpoint saw exactly these bytes;
- ``reject``: a 4xx (or the 501/505 RFC 9112 prescribes for an unknown transfer coding or
  version), or the connection closed without an answer — never a 2xx, never another 5xx;
- ``either``: the request is one the RFCs let a server refuse or repair (an obs-fold, a
  repeated identical length, ...): ``reject`` or ``ok`` with the exact body.

``{host}`` in a request is the target's ``host:port``. ``half_close``: the client shuts its
sending side after the bytes (it gave up mid-body, or disconnected).
"""

from __future__ import annotations

import errno
import hashlib
import socket
import time
from dataclasses import dataclass

__all__ = ["CASES", "Case", "Outcome", "send_raw", "digest"]


def digest(body: bytes) -> str:
    return f"{hashlib.sha256(body).hexdigest()[:16]} {len(body)}"


@dataclass(frozen=True)
class Case:
    name: str
    raw: bytes
    expect: str  # "ok" | "reject" | "either"
    status: int = 200
    body: bytes | None = None  # the body the endpoint must see (ok / either)
    text: str | None = None  # or the exact answer text (GET /api/hello)
    half_close: bool = False
    #: servers whose own parser, facing clients directly, is known to get this one wrong; the
    #: docs and ``meta check --deploy`` say they belong behind the generated Nginx (which
    #: refuses it): only a 5xx from the application fails there
    known: tuple[str, ...] = ()

    def request(self, host: str) -> bytes:
        return self.raw.replace(b"{host}", host.encode())


def _post(headers: str, body: bytes, path: str = "/api/digest") -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: {{host}}\r\n{headers}\r\n".encode() + body


def _chunked(raw_body: bytes, extra: str = "") -> bytes:
    return _post(f"Transfer-Encoding: chunked\r\n{extra}", raw_body)


def _get(target: str = "/api/hello", headers: str = "", version: str = "HTTP/1.1") -> bytes:
    return f"GET {target} {version}\r\nHost: {{host}}\r\n{headers}\r\n".encode()


BODY = b'{"name": "corpus"}'
ok_len = _post(f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n", BODY)

VALID = [
    Case("get", _get(), "ok", text="world"),
    Case("get-query", _get("/api/hello?a=1&b=%20x&c"), "ok", text="world"),
    Case("get-http10-no-host", b"GET /api/hello HTTP/1.0\r\n\r\n", "ok", text="world"),
    Case("get-absolute-form", b"GET http://{host}/api/hello HTTP/1.1\r\nHost: {host}\r\n\r\n", "ok", text="world"),
    Case("get-ows-around-value", _get(headers="X-A: \t padded \t\r\n"), "ok", text="world"),
    Case("get-repeated-header", _get(headers="X-A: 1\r\nX-A: 2\r\n"), "ok", text="world"),
    Case("get-4k-header", _get(headers=f"X-Big: {'v' * 4000}\r\n"), "ok", text="world"),
    Case("get-connection-close", _get(headers="Connection: close\r\n"), "ok", text="world"),
    Case("get-unknown-path", _get("/api/nowhere"), "ok", status=404),
    Case("get-encoded-nul-path", _get("/api/he%00llo"), "either", status=404),  # Nginx refuses it
    Case("get-bad-utf8-path", _get("/api/%ff%fe"), "ok", status=404),
    Case("get-bad-utf8-query", _get("/api/hello?x=%ff%fe"), "ok", text="world"),
    Case("get-utf8-header-value", _get(headers="X-Name: caf\u00e9\r\n"), "ok", text="world"),
    Case("post-length", ok_len, "ok", body=BODY),
    Case("post-length-zero", _post("Content-Length: 0\r\n", b""), "ok", status=400),  # the endpoint needs a body
    Case("post-binary-with-nul", _post("Content-Length: 6\r\n", b"a\x00b\xffc\n"), "ok", body=b"a\x00b\xffc\n"),
    Case("post-leading-zero-length", _post("Content-Length: 0005\r\n", b"hello"), "ok", body=b"hello"),
    Case("chunked-one", _chunked(b"5\r\nhello\r\n0\r\n\r\n"), "ok", body=b"hello"),
    Case("chunked-many", _chunked(b"2\r\nhe\r\n3\r\nllo\r\n1\r\n!\r\n0\r\n\r\n"), "ok", body=b"hello!"),
    Case("chunked-uppercase-hex", _chunked(b"A\r\n0123456789\r\n0\r\n\r\n"), "ok", body=b"0123456789"),
    Case("chunked-lowercase-hex", _chunked(b"a\r\n0123456789\r\n0\r\n\r\n"), "ok", body=b"0123456789"),
    Case("chunked-leading-zeros", _chunked(b"0005\r\nhello\r\n0\r\n\r\n"), "ok", body=b"hello"),
    # refused (400) by Tornado / Sanic on their own: safe, if stricter than RFC 9112 asks
    Case("chunked-extension", _chunked(b"5;name=value\r\nhello\r\n0\r\n\r\n"), "ok", body=b"hello", known=("tornado",)),
    Case(
        "chunked-trailer",
        _chunked(b"5\r\nhello\r\n0\r\nX-Checksum: 1\r\n\r\n"),
        "ok",
        body=b"hello",
        known=("tornado", "sanic"),
    ),
    Case(
        "chunked-coding-case",
        _post("Transfer-Encoding: Chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
        "ok",
        body=b"hello",
        known=("sanic",),
    ),
    Case("chunked-crlf-in-data", _chunked(b"4\r\n\r\n\r\n\r\n0\r\n\r\n"), "ok", body=b"\r\n\r\n"),
    Case("expect-100", _post("Expect: 100-continue\r\nContent-Length: 5\r\n", b"hello"), "ok", body=b"hello"),
    Case(
        "post-then-eof",
        _post("Content-Length: 5\r\nConnection: close\r\n", b"hello"),
        "either",
        body=b"hello",
        half_close=True,
    ),  # Nginx: an abort
]

INVALID = [
    # chunked framing
    Case("chunk-size-plus", _chunked(b"+5\r\nhello\r\n0\r\n\r\n"), "reject"),
    Case("chunk-size-minus", _chunked(b"-5\r\nhello\r\n0\r\n\r\n"), "reject"),
    Case("chunk-size-overflow", _chunked(b"fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"), "reject", half_close=True),
    Case("chunk-size-not-hex", _chunked(b"5g\r\nhello\r\n0\r\n\r\n"), "reject"),
    Case("chunk-size-0x", _chunked(b"0x5\r\nhello\r\n0\r\n\r\n"), "reject", known=("sanic",)),
    Case("chunk-size-empty", _chunked(b"\r\nhello\r\n0\r\n\r\n"), "reject"),
    Case("chunk-data-too-long", _chunked(b"3\r\nhello\r\n0\r\n\r\n"), "reject", known=("sanic",)),
    Case("chunk-missing-crlf", _chunked(b"5\r\nhello0\r\n\r\n"), "reject", half_close=True),
    Case("chunk-abandoned", _chunked(b"a\r\nhello"), "reject", half_close=True),
    Case("chunk-no-last-chunk", _chunked(b"5\r\nhello\r\n"), "reject", half_close=True),
    Case("chunk-no-final-crlf", _chunked(b"5\r\nhello\r\n0\r\n"), "reject", half_close=True),
    Case(
        "chunk-trailer-content-length",
        _chunked(b"5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n"),
        "either",
        body=b"hello",
    ),
    Case("chunk-trailer-no-colon", _chunked(b"5\r\nhello\r\n0\r\nbroken trailer\r\n\r\n"), "either", body=b"hello"),
    # Content-Length
    Case("length-not-number", _post("Content-Length: abc\r\n", b"hello"), "reject"),
    Case("length-negative", _post("Content-Length: -5\r\n", b"hello"), "reject"),
    Case("length-plus", _post("Content-Length: +5\r\n", b"hello"), "reject"),
    Case("length-hex", _post("Content-Length: 0x5\r\n", b"hello"), "reject"),
    Case("length-two-different", _post("Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!"), "reject"),
    Case("length-list-different", _post("Content-Length: 5, 6\r\n", b"hello!"), "reject"),
    Case("length-list-same", _post("Content-Length: 5, 5\r\n", b"hello"), "either", body=b"hello"),
    Case("length-space-before-colon", _post("Content-Length : 5\r\n", b"hello"), "reject"),
    Case("length-overflow", _post("Content-Length: 99999999999999999999999\r\n", b"hello"), "reject", half_close=True),
    Case("length-truncated", _post("Content-Length: 100\r\n", b"only twenty-three bytes"), "reject", half_close=True),
    Case("length-over-limit", _post("Content-Length: 5000\r\n", b"x" * 5000), "reject"),
    Case("chunked-over-limit", _chunked(b"1388\r\n" + b"x" * 5000 + b"\r\n0\r\n\r\n"), "reject"),
    # Transfer-Encoding
    Case(
        "te-and-length",
        _post("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
        "either",
        body=b"hello",
    ),
    Case("te-unknown", _post("Transfer-Encoding: xchunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"), "reject", half_close=True),
    Case(
        "te-chunked-not-last",
        _post("Transfer-Encoding: chunked, gzip\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
        "reject",
        half_close=True,
    ),
    Case(
        "te-space-before-colon",
        _post("Transfer-Encoding : chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
        "reject",
        half_close=True,
    ),
    Case(
        "te-http10",
        b"POST /api/digest HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "either",
        body=b"hello",
        half_close=True,
    ),
    # request line
    Case("method-bad-chars", b"GE(T /api/hello HTTP/1.1\r\nHost: {host}\r\n\r\n", "reject"),
    Case("version-lowercase", _get(version="http/1.1"), "reject"),
    Case("version-unknown", _get(version="HTTP/1.12"), "either", text="world"),  # Nginx reads it as 1.x
    Case("version-2", _get(version="HTTP/2.0"), "either", text="world"),  # uvicorn serves it as 1.1
    Case("target-space", b"GET /api/hel lo HTTP/1.1\r\nHost: {host}\r\n\r\n", "reject"),
    Case("target-raw-nul", b"GET /api/he\x00llo HTTP/1.1\r\nHost: {host}\r\n\r\n", "reject"),
    Case("target-raw-non-ascii", b"GET /api/caf\xc3\xa9 HTTP/1.1\r\nHost: {host}\r\n\r\n", "either"),
    Case("target-too-long", _get("/api/hello?q=" + "a" * 70000), "reject", half_close=True),
    # Sanic waits for a CRLF CRLF that never comes (until its request timeout)
    Case(
        "request-line-only-lf", b"GET /api/hello HTTP/1.1\nHost: {host}\n\n", "either", text="world", known=("sanic",)
    ),
    # header syntax
    # Nginx drops invalid header lines (ignore_invalid_headers): the rest is valid
    Case("header-no-colon", _get(headers="NoColonHere\r\n"), "either", text="world"),
    Case("header-name-bad-char", _get(headers="X(A): 1\r\n"), "either", text="world"),
    Case("header-name-empty", _get(headers=": value\r\n"), "reject"),
    Case("header-value-nul", _get(headers="X-A: a\x00b\r\n"), "reject"),
    Case("header-value-bare-cr", _get(headers="X-A: a\rb\r\n"), "reject"),
    Case("header-obs-fold", _get(headers="X-A: a\r\n b\r\n"), "either", text="world"),
    Case("header-leading-space-first", b"GET /api/hello HTTP/1.1\r\n Host: {host}\r\n\r\n", "reject"),
    # uvicorn (httptools) reads a header of any size: the core refuses it (431)
    Case("header-too-large", _get(headers=f"X-Big: {'v' * 70000}\r\n"), "reject", half_close=True),
    Case(
        "header-too-many",
        _get(headers="".join(f"X-H{i}: {i}\r\n" for i in range(2000))),
        "either",
        text="world",
        half_close=True,
    ),
    Case("host-missing-http11", b"GET /api/hello HTTP/1.1\r\n\r\n", "either", text="world"),
    Case("host-twice", b"GET /api/hello HTTP/1.1\r\nHost: {host}\r\nHost: other\r\n\r\n", "either", text="world"),
    # bodies the application refuses
    Case(
        "json-malformed",
        _post("Content-Type: application/json\r\nContent-Length: 7\r\n", b'{"a": }', "/api/json"),
        "reject",
    ),
    Case(
        "json-too-deep",
        _post("Content-Type: application/json\r\nContent-Length: 600\r\n", b"[" * 300 + b"]" * 300, "/api/json"),
        "reject",
    ),
    Case(
        "json-bad-utf8",
        _post("Content-Type: application/json\r\nContent-Length: 8\r\n", b'{"a":"\xff"}', "/api/json"),
        "reject",
    ),
    Case(
        "multipart-no-boundary",
        _post("Content-Type: multipart/form-data\r\nContent-Length: 5\r\n", b"hello", "/api/json"),
        "reject",
    ),
    Case(
        "multipart-broken",
        _post(
            "Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: 11\r\n", b"--zz\r\nbroke", "/api/json"
        ),
        "reject",
    ),
]

CASES = VALID + INVALID


@dataclass
class Outcome:
    status: int | None  # None: closed without an answer
    text: str
    hung: bool = False

    def __str__(self) -> str:
        if self.hung:
            return "hang"
        return "closed" if self.status is None else f"{self.status} {self.text[:80]!r}"


def send_raw(port: int, case: Case, timeout: float = 8.0) -> Outcome:
    """Send the case on a fresh connection; read the first final answer (or the close)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    data = b""
    try:
        try:
            sock.sendall(case.request(f"127.0.0.1:{port}"))
            if case.half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused before reading it all; its answer may still be there
        except OSError as e:
            if e.errno != errno.ENOTCONN:
                raise
            # the server answered and closed before our half-close (a fast refusal): read on
        deadline = time.monotonic() + timeout
        while True:
            answer = _parse(data)
            if answer is not None:
                return answer
            if time.monotonic() > deadline:
                return Outcome(None, "", hung=True)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return Outcome(None, "", hung=True)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                return _parse(data, eof=True) or Outcome(None, "")
            data += chunk
    finally:
        sock.close()


def _parse(data: bytes, eof: bool = False) -> Outcome | None:
    while True:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            return None
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        if 100 <= status < 200:  # an interim answer: the final one follows
            data = rest
            continue
        headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)}
        if "content-length" in headers:
            size = int(headers["content-length"])
            if len(rest) < size:
                return None if not eof else Outcome(status, rest.decode("latin-1"))
            return Outcome(status, rest[:size].decode("latin-1"))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = _dechunk(rest)
            return None if body is None and not eof else Outcome(status, (body or b"").decode("latin-1"))
        if status in (204, 304):
            return Outcome(status, "")
        return Outcome(status, rest.decode("latin-1")) if eof else None


def _dechunk(data: bytes) -> bytes | None:
    out = b""
    while True:
        line, sep, data = data.partition(b"\r\n")
        if not sep:
            return None
        size = int(line.split(b";")[0], 16)
        if size == 0:
            return out
        if len(data) < size + 2:
            return None
        out, data = out + data[:size], data[size + 2 :]


def verdict(case: Case, outcome: Outcome, server: str | None = None) -> str | None:
    """None when the outcome is right for the case, else what is wrong (``server``: the server
    facing the client, when there is no proxy in front)."""
    if server in case.known:
        status = outcome.status
        return f"a {status}" if status is not None and status >= 500 and status not in (501, 505) else None
    if outcome.hung:
        return "no answer and no close (a hang)"
    status = outcome.status
    if status is not None and status >= 500 and status not in (501, 505):
        return f"a {status}"
    rejected = status is None or 400 <= status < 500 or status in (501, 505)
    if case.expect == "reject":
        return None if rejected else f"accepted: {outcome}"
    if case.expect == "either" and rejected:
        return None
    if status != case.status:
        return f"expected {case.status}, got {outcome}"
    if case.body is not None and outcome.text != digest(case.body):
        return f"the endpoint saw other bytes: {outcome.text!r} != {digest(case.body)!r}"
    if case.text is not None and outcome.text != case.text:
        return f"expected {case.text!r}, got {outcome.text!r}"
    return None
