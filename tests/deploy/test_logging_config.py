"""Logging per environment (seed 003) and the access log: console, file, JSON lines, SMTP, webhook."""

from __future__ import annotations

import json
import logging
import socketserver
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from utilmeta import UtilMeta
from utilmeta.conf import Logging
from utilmeta.conf.logging import SMTP
from utilmeta.core import api
from utilmeta.core.request import Request
from utilmeta.core.response import Response
from utilmeta.ops.log import ACCESS_LOGGER, BackgroundHandler, JsonFormatter, WebhookHandler, log_access


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    access = logging.getLogger(ACCESS_LOGGER)
    saved = (list(root.handlers), root.level, access.level)
    yield
    for handler in set(root.handlers) - set(saved[0]):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(saved[1])
    access.setLevel(saved[2])


def finished_request(status: int = 200) -> tuple[Request, Response]:
    """A request that came through a trusted proxy (the client is 203.0.113.9), and its response."""
    request = Request(
        "GET",
        "/api/user/7",
        "x=1",
        {"x-forwarded-for": "203.0.113.9"},
        client_addr="127.0.0.1",
    )
    request.route = "/user/{id}"
    request.request_id = "req-42"
    return request, Response("ok", status=status)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# -- configuration -----------------------------------------------------------------------------------


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="development, testing, production"):
        Logging("staging")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a level like 'INFO'"):
        Logging(level="LOUD")
    with pytest.raises(ValueError, match="http"):
        Logging(webhook="ftp://x")
    assert Logging(level="warning").level == logging.WARNING


def test_development_is_readable_on_the_console() -> None:
    handlers = Logging().handlers("svc", "development")
    assert len(handlers) == 1
    (console,) = handlers
    assert isinstance(console, logging.StreamHandler) and console.stream is sys.stderr
    assert not isinstance(console.formatter, JsonFormatter)


def test_testing_writes_a_file_at_info(tmp_path: Path) -> None:
    handlers = Logging(file=tmp_path / "logs" / "t.log").handlers("svc", "testing")
    to_file, console = handlers
    assert isinstance(to_file, logging.FileHandler) and to_file.level == logging.INFO
    assert to_file.baseFilename == str(tmp_path / "logs" / "t.log")
    assert console.level == logging.WARNING
    for handler in handlers:
        handler.close()


def test_production_is_json_with_errors_mailed_and_posted() -> None:
    smtp = SMTP("mail.example.com", sender="api@example.com", recipients=["ops@example.com"])
    handlers = Logging(smtp=smtp, webhook="https://hooks.example.com/x").handlers("svc", "production")
    stream, mail, hook = handlers
    assert isinstance(stream, logging.StreamHandler) and stream.stream is sys.stdout
    assert isinstance(stream.formatter, JsonFormatter)
    assert isinstance(mail, BackgroundHandler) and mail.level == logging.ERROR
    assert isinstance(mail.target, logging.Handler) and type(mail.target).__name__ == "SMTPHandler"
    assert isinstance(hook, BackgroundHandler) and isinstance(hook.target, WebhookHandler)


def test_the_environment_follows_the_service() -> None:
    class RootAPI(api.API):
        pass

    service = UtilMeta(__name__, backend="wsgi", api=RootAPI, production=True)
    assert Logging().resolve_environment(service) == "production"
    assert Logging("testing").resolve_environment(service) == "testing"
    assert Logging().resolve_environment(None) == "development"


# -- the access log ----------------------------------------------------------------------------------


def test_access_log_is_off_until_configured() -> None:
    collect = Collect()
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(collect)
    try:
        logging.getLogger().setLevel(logging.WARNING)
        logger.setLevel(logging.NOTSET)
        log_access(*finished_request(), 0.01)
        assert collect.records == []
        logger.setLevel(logging.INFO)
        log_access(*finished_request(404), 0.0123)
    finally:
        logger.removeHandler(collect)
    (record,) = collect.records
    assert record.getMessage() == "GET /api/user/7 404 12.3ms 203.0.113.9 req-42"
    fields = {k: getattr(record, k) for k in ("method", "path", "route", "status", "client_ip", "request_id")}
    assert fields == {
        "method": "GET",
        "path": "/api/user/7",
        "route": "/user/{id}",
        "status": 404,
        "client_ip": "203.0.113.9",
        "request_id": "req-42",
    }
    assert record.duration_ms == 12.3  # type: ignore[attr-defined]


def test_testing_environment_writes_access_lines_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "service.log"
    config = Logging("testing", file=path)
    config.apply("svc", "testing")
    log_access(*finished_request(), 0.002)
    logging.getLogger("app").debug("not at debug")
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    assert "INFO    utilmeta.access: GET /api/user/7 200 2.0ms 203.0.113.9 req-42" in lines[0]


def test_production_lines_are_json(capsys: pytest.CaptureFixture[str]) -> None:
    Logging("production").apply("svc", "production")
    log_access(*finished_request(201), 0.5)
    try:
        raise ValueError("bad thing")
    except ValueError:
        logging.getLogger("svc.api").exception("failed", extra={"request_id": "req-9"})
    access, error = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert access["level"] == "INFO" and access["logger"] == ACCESS_LOGGER and access["service"] == "svc"
    assert (access["status"], access["duration_ms"], access["client_ip"]) == (201, 500.0, "203.0.113.9")
    assert access["time"].endswith("Z")
    assert error["level"] == "ERROR" and error["request_id"] == "req-9"
    assert "ValueError: bad thing" in error["exc"]


def test_access_log_can_be_turned_off(capsys: pytest.CaptureFixture[str]) -> None:
    Logging("production", access_log=False).apply("svc", "production")
    log_access(*finished_request(), 0.1)
    assert capsys.readouterr().out == ""


def test_a_service_logs_one_line_per_request(tmp_path: Path) -> None:
    from utilmeta.testing import TestClient

    class RootAPI(api.API):
        @api.get
        def hello(self) -> str:
            return "world"

    path = tmp_path / "svc.log"
    service = UtilMeta(__name__, backend="wsgi", api=RootAPI, route="/api")
    service.use(Logging("testing", file=path))
    with TestClient(service) as client:
        assert client.get("/api/hello").status_code == 200
    for handler in logging.getLogger().handlers:
        handler.flush()
    (line,) = [ln for ln in path.read_text().splitlines() if "utilmeta.access" in ln]
    assert "GET /api/hello 200" in line


# -- alerts: webhook and SMTP ------------------------------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_errors_are_posted_to_the_webhook_in_the_background() -> None:
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        config = Logging("production", webhook=url)
        config.apply("svc", "production")
        logging.getLogger("svc").warning("only a warning")
        logging.getLogger("svc").error("it broke", extra={"request_id": "req-1"})
        for handler in config._installed:
            handler.close()
    finally:
        server.shutdown()
        server.server_close()
    (payload,) = _Hook.received
    assert payload["level"] == "ERROR" and payload["message"] == "it broke" and payload["request_id"] == "req-1"
    assert "it broke" in payload["text"]


class _SMTP(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive one message."""

    messages: list[str] = []

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 test")
        while True:
            line = self.rfile.readline().decode().strip()
            verb = line.split(" ")[0].upper()
            if verb in ("EHLO", "HELO", "MAIL", "RCPT", "RSET", "NOOP"):
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = []
                while (chunk := self.rfile.readline().decode()) not in (".\r\n", ""):
                    data.append(chunk)
                self.messages.append("".join(data))
                self.reply("250 queued")
            else:
                self.reply("221 bye")
                return


def test_errors_are_mailed_in_production() -> None:
    _SMTP.messages = []
    server = socketserver.TCPServer(("127.0.0.1", 0), _SMTP)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        smtp = SMTP("127.0.0.1", port=server.server_address[1], sender="api@example.com", recipients=["ops@x.org"])
        config = Logging("production", smtp=smtp)
        config.apply("svc", "production")
        logging.getLogger("svc").error("database is down")
        for handler in config._installed:
            handler.close()
    finally:
        server.shutdown()
        server.server_close()
    (message,) = _SMTP.messages
    assert "Subject: svc: application error" in message and "database is down" in message
