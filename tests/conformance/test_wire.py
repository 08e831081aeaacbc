"""The framing of answers on the wire, read as raw bytes from each backend's own server.

One keep-alive connection per backend carries, in order: a GET, a HEAD, a 204, a 304, and a POST
sent with ``Expect: 100-continue``, then a GET again. A body where none belongs (HEAD, 204, 304)
or a wrong ``Content-Length`` would shift every later answer on the connection, so each answer
is read exactly as framed and the next must start with a status line. The rules are the core's
(:mod:`utilmeta.core.response.wire`): every backend must follow them the same way.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from netutil import free_port, serve_script

BACKENDS = ["django", "flask", "starlette", "fastapi", "sanic", "tornado"]

SERVICE = """
from utilmeta import UtilMeta
from utilmeta.core import api, request, response


class RootAPI(api.API):
    @api.get
    def hello(self) -> str:
        return "hello"

    @api.get
    def nothing(self) -> response.Response:
        return response.Response(status=204, headers={{"X-Kind": "none"}})

    @api.get
    def cached(self) -> response.Response:
        return response.Response("stale", status=304, headers={{"ETag": '"v1"'}})

    @api.post
    def echo(self, data: dict = request.Body) -> dict:
        return data

    @api.post
    def store(self, data: bytes = request.Body) -> str:
        with open("stored.txt", "a") as f:  # the endpoint ran: what it got
            f.write(f"{{len(data)}}\\n")
        return "stored"

    @api.get
    def trace(self, trace: str = request.HeaderParam("X-Trace")) -> dict:
        return {{"trace": trace, "headers": self.request.headers.get("x-trace")}}


service = UtilMeta(__name__, backend={backend!r}, name="wire", api=RootAPI, route="/api", port={port})
app = service.application()

if __name__ == "__main__":
    service.run()
"""


PRODUCTION = """
from utilmeta import UtilMeta
from utilmeta.conf import Logging
from utilmeta.core import api


class RootAPI(api.API):
    @api.get
    def crash(self) -> str:
        raise ValueError("boom")


service = UtilMeta(__name__, backend={backend!r}, name="wire", api=RootAPI, route="/api", port={port}, production=True)
service.use(Logging("production"))
if {backend!r} == "django":
    from utilmeta.core.server.backends.django import DjangoSettings

    service.use(DjangoSettings(secret_key="wire-not-a-secret-" + "k" * 50))
app = service.application()

if __name__ == "__main__":
    service.run()
"""


class Answer:
    def __init__(self, status_line: str, headers: list[tuple[str, str]], body: bytes):
        self.status_line = status_line
        self.status = int(status_line.split(" ")[1])
        self.headers = headers
        self.body = body

    def get(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name]


class Wire:
    """A raw HTTP/1.1 connection that reads answers exactly as they are framed."""

    def __init__(self, port: int):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""
        self.closing = False

    def send(self, data: bytes) -> None:
        if self.closing:  # the last answer said "Connection: close" (a dev server may)
            assert not self.buffer, f"stray bytes after an answer that closed the connection: {self.buffer!r}"
            self.sock.close()
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            self.closing = False
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def head(self) -> tuple[str, list[tuple[str, str]]]:
        while b"\r\n\r\n" not in self.buffer:
            assert self._fill(), f"the connection closed mid-answer: {self.buffer!r}"
        raw, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = raw.decode("latin-1").split("\r\n")
        assert lines[0].startswith("HTTP/1.1 "), f"not a status line: {lines[0]!r} (a stray body before it?)"
        headers = [(k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in lines[1:])]
        return lines[0], headers

    def answer(self, method: str) -> Answer:
        status_line, headers = self.head()
        answer = Answer(status_line, headers, b"")
        assert not answer.get("transfer-encoding"), f"{status_line}: chunked, not framed by Content-Length"
        self.closing = "close" in [v.lower() for v in answer.get("connection")]
        if method == "HEAD" or answer.status < 200 or answer.status in (204, 304):
            return answer
        lengths = answer.get("content-length")
        if not lengths and answer.status >= 400:  # an error the server answers and closes on
            while self._fill():
                pass
            answer.body, self.buffer, self.closing = self.buffer, b"", True
            return answer
        assert len(lengths) == 1, f"{status_line}: Content-Length {lengths}"
        size = int(lengths[0])
        while len(self.buffer) < size:
            assert self._fill(), "the connection closed mid-body"
        answer.body, self.buffer = self.buffer[:size], self.buffer[size:]
        return answer

    def request(self, method: str, path: str, headers: str = "", body: bytes = b"") -> Answer:
        self.send(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{headers}\r\n".encode() + body)
        return self.answer(method)

    def idle(self) -> bool:
        """Nothing more was sent (no stray bytes after the last answer)."""
        if self.closing:
            return not self.buffer and not self._fill()
        self.sock.settimeout(0.3)
        try:
            return not self.buffer and not self._fill()
        except TimeoutError:
            return not self.buffer
        finally:
            self.sock.settimeout(10)

    def close(self) -> None:
        self.sock.close()


@contextlib.contextmanager
def run_service(backend: str, tmp: Path, template: str = SERVICE) -> Iterator[int]:
    port = free_port()
    script = tmp / f"wire_{backend}.py"
    script.write_text(template.format(backend=backend, port=port))
    with serve_script(script, port, stop_timeout=10, log=tmp / "output.txt"):
        yield port


@pytest.mark.parametrize("backend", BACKENDS)
def test_framing_on_one_connection(backend: str, tmp_path: Path) -> None:
    pytest.importorskip(backend)
    with run_service(backend, tmp_path) as port:
        wire = Wire(port)
        try:
            got = wire.request("GET", "/api/hello")
            assert (got.status_line, got.get("content-length"), got.body) == ("HTTP/1.1 200 OK", ["5"], b"hello")
            assert got.get("date"), "an origin server with a clock sends Date (RFC 9110 6.6.1)"
            if backend == "tornado":  # the one server whose Server header the adaptor writes
                assert got.get("server") == ["TornadoServer"]  # no version: Preference(server_tokens=False)

            got = wire.request("HEAD", "/api/hello")
            assert (got.status, got.get("content-length")) == (200, ["5"])  # the GET body's length, no body

            got = wire.request("GET", "/api/nothing")
            assert got.status_line == "HTTP/1.1 204 No Content"
            assert got.get("x-kind") == ["none"]
            assert not got.get("content-type")
            # none from the core; wsgiref (django's runserver) adds a harmless "0" of its own
            assert got.get("content-length") in ([], ["0"])

            got = wire.request("GET", "/api/cached")
            assert got.status_line == "HTTP/1.1 304 Not Modified"
            assert got.get("etag") == ['"v1"'] and not got.get("content-type")

            body = b'{"a": 1}'
            wire.send(
                b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
            )
            interim = wire.answer("POST")  # the server asks for the body (every server here does)
            assert interim.status == 100 and not interim.headers  # Tornado's reason is "(Continue)"
            wire.send(body)
            got = wire.answer("POST")
            while got.status == 100:  # werkzeug's dev server sends a second one; RFC 9110 15.2 allows it
                got = wire.answer("POST")
            assert (got.status, got.body) == (200, b'{"a":1}')

            got = wire.request("GET", "/api/hello")
            assert (got.status, got.body) == (200, b"hello")
            assert wire.idle(), f"stray bytes after the last answer: {wire.buffer!r}"
        finally:
            wire.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_header_bytes_read_alike(backend: str, tmp_path: Path) -> None:
    """A header's bytes outside ASCII read the same on every backend (as latin-1, as WSGI and
    ASGI hand them over), and echoing them back is no 500."""
    pytest.importorskip(backend)
    with run_service(backend, tmp_path) as port:
        wire = Wire(port)
        try:
            for raw, text in ((b"\xff\xfe", "\u00ff\u00fe"), ("caf\u00e9".encode(), "caf\u00c3\u00a9")):
                wire.send(b"GET /api/trace HTTP/1.1\r\nHost: x\r\nX-Trace: " + raw + b"\r\n\r\n")
                got = wire.answer("GET")
                assert got.status == 200, got.body
                assert json.loads(got.body) == {"trace": text, "headers": text}
        finally:
            wire.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_targets_and_crashes_in_production(backend: str, tmp_path: Path) -> None:
    """A raw NUL in the target is the client's 400 (from the server or the core), never an
    uncaught error; a crash is one JSON log record with its traceback in ``exc``."""
    pytest.importorskip(backend)
    with run_service(backend, tmp_path, PRODUCTION) as port:
        wire = Wire(port)
        try:
            wire.send(b"GET /api/cra\x00sh HTTP/1.1\r\nHost: x\r\n\r\n")
            got = wire.answer("GET")
            assert got.status in (400, 404), got.body  # a WSGI path cannot tell a raw NUL from %00
            wire.closing = True  # a server may close after a 400: start afresh
            got = wire.request("GET", "/api/crash")
            assert got.status == 500 and b"boom" not in got.body  # production says nothing
        finally:
            wire.close()
    records = []
    for line in (tmp_path / "output.txt").read_text().splitlines():
        assert not line.startswith(("Traceback", "  File ")), f"a traceback outside the JSON log:\n{line}"
        if line.startswith("{"):
            records.append(json.loads(line))
    errors = [r for r in records if r["level"] == "ERROR"]
    assert len(errors) == 1 and "ValueError: boom" in errors[0]["exc"], errors


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_truncated_body_never_reaches_the_endpoint(backend: str, tmp_path: Path) -> None:
    """``Content-Length: 100``, 23 bytes, then the client stops sending: a 400 or a closed
    connection, and the endpoint never runs on the 23 bytes."""
    pytest.importorskip(backend)
    with run_service(backend, tmp_path) as port:
        wire = Wire(port)
        try:
            wire.send(b"POST /api/store HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 23)
            wire.sock.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := wire.sock.recv(65536):
                data += chunk
            assert data == b"" or data.startswith(b"HTTP/1.1 400 "), data
        finally:
            wire.close()
        wire = Wire(port)  # the server goes on serving, and the endpoint works with a whole body
        try:
            got = wire.request("POST", "/api/store", "Content-Length: 5\r\n", b"whole")
            assert (got.status, got.body) == (200, b"stored")
        finally:
            wire.close()
    assert (tmp_path / "stored.txt").read_text() == "5\n"
