"""Log formats and handlers shared by the ``Logging`` config (and, later, alert notifiers):
JSON lines, a webhook poster, and a background thread so no request waits for a slow handler."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import msgspec

__all__ = ["BackgroundHandler", "JsonFormatter", "WebhookHandler"]

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def _iso(created: float) -> str:
    return datetime.fromtimestamp(created, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC), ``level``, ``logger``, ``message``, every extra
    attribute of the record (the access fields among them), and ``exc`` with the traceback."""

    def __init__(self, static: Mapping[str, Any] | None = None):
        super().__init__()
        #: fields added to every line, like the service name
        self.static = dict(static or {})

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **self.static,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exc"] = record.exc_text
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return msgspec.json.encode(data, enc_hook=repr).decode()


class WebhookHandler(logging.Handler):
    """POSTs each record as JSON to ``url``: ``{"text": <formatted record>, "level", "logger",
    "message", ...}`` (``text`` is what Slack-style incoming webhooks show). Wrap it in a
    :class:`BackgroundHandler` so requests never wait for the webhook."""

    def __init__(
        self, url: str, *, timeout: float = 5.0, headers: Mapping[str, str] | None = None, level: int = logging.ERROR
    ):
        super().__init__(level)
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook url must be http(s)://..., got {url!r}")
        self.url = url
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", **(headers or {})}

    def payload(self, record: logging.LogRecord) -> dict[str, Any]:
        return {
            "text": self.format(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "time": _iso(record.created),
            **({"request_id": record.request_id} if hasattr(record, "request_id") else {}),
        }

    def emit(self, record: logging.LogRecord) -> None:
        import urllib.request

        try:
            body = msgspec.json.encode(self.payload(record), enc_hook=repr)
            request = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                answer.read()
        except Exception:
            self.handleError(record)


class BackgroundHandler(logging.Handler):
    """Hands records to ``target`` on a daemon thread, so a slow SMTP server or webhook never
    delays a request. The thread starts on first use in each process (threads do not survive a
    fork, and servers fork their workers after setup); at most ``capacity`` records wait, the
    rest are counted in :attr:`dropped`. Closing (at exit, by ``logging.shutdown``) drains it."""

    def __init__(self, target: logging.Handler, *, capacity: int = 1000, close_timeout: float = 5.0):
        super().__init__(target.level)
        self.target = target
        self.capacity = capacity
        self.close_timeout = close_timeout
        self.dropped = 0
        self._queue: queue.Queue[logging.LogRecord | None] | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        super().setFormatter(fmt)
        self.target.setFormatter(fmt)

    def _start(self) -> queue.Queue[logging.LogRecord | None]:
        self._pid = os.getpid()
        self._queue = queue.Queue(self.capacity)
        name = f"utilmeta-log-{type(self.target).__name__}"
        self._thread = threading.Thread(target=self._run, args=(self._queue,), name=name, daemon=True)
        self._thread.start()
        return self._queue

    def _run(self, records: queue.Queue[logging.LogRecord | None]) -> None:
        while True:
            record = records.get()
            if record is None:
                return
            self.target.handle(record)

    def emit(self, record: logging.LogRecord) -> None:
        records = self._queue if self._pid == os.getpid() and self._queue is not None else self._start()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        try:
            records.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def close(self) -> None:
        if self._queue is not None and self._pid == os.getpid() and self._thread is not None:
            try:
                self._queue.put(None, timeout=self.close_timeout)
            except queue.Full:
                pass
            self._thread.join(self.close_timeout)
            self._queue = self._thread = None
        self.target.close()
        super().close()
