"""The rules of an HTTP/1.1 answer on the wire, in one place (RFC 9110 §6.4.1, §8.6, §6.6.1).

Every adaptor hands the core's :class:`~utilmeta.core.response.Response` to its server through
:func:`framing`, so the same answer is framed the same way on every backend:

- no body for 1xx, 204 and 304 answers, and no ``Content-Length`` on 1xx and 204 (a 304 keeps
  one only if the endpoint set it: it describes the representation, not this message);
- a ``Content-Length`` on every other answer (a HEAD answer's is the GET body's length, which
  the core sets when it empties the body);
- no ``Content-Type`` (nor ``Content-Encoding`` / ``Content-Language``) on a bodiless status;
- a streamed answer (``response.stream``: server-sent events, a large file) has a
  ``Content-Length`` only when its length is known (a file); otherwise the adaptor sends its
  chunks as they come with HTTP/1.1 chunked encoding.

Adaptors that write the status line and headers themselves (Tornado's and Sanic's direct
paths) also take :func:`reason` and :func:`http_date` (``Date`` is the server's to send, RFC 9110
§6.6.1; WSGI/ASGI servers add their own).
"""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from utilmeta.core.response.response import Response

__all__ = ["BODILESS", "bodiless", "framing", "http_date", "reason", "status_line"]

#: the statuses that never carry a body (besides 1xx)
BODILESS = frozenset((204, 304))
_REPRESENTATION = frozenset(("content-type", "content-encoding", "content-language"))
_REASONS = {s.value: s.phrase for s in HTTPStatus}
_STATUS_LINES = {code: f"{code} {phrase}" for code, phrase in _REASONS.items()}


def bodiless(status: int) -> bool:
    """Whether an answer with this status has no body (and no framing of one)."""
    return status < 200 or status in BODILESS


def reason(status: int) -> str:
    """The reason phrase of ``status`` (``"Unknown"`` for an unregistered code)."""
    return _REASONS.get(status) or "Unknown"


def status_line(status: int) -> str:
    """``"200 OK"``: the status as WSGI's ``start_response`` takes it."""
    return _STATUS_LINES.get(status) or f"{status} Unknown"


def framing(response: Response) -> tuple[list[tuple[str, str]], bytes]:
    """The headers to send (``Content-Length`` included where it belongs) and the body."""
    status = response.status
    if response.stream is not None:  # sent as it comes: a known length is in the headers already
        return response.header_items(), b""
    if status >= 200 and status not in BODILESS:
        return response.header_items(content_length=True), response.body or b""
    items = response.header_items()
    keep_length = status == 304
    return [
        (name, value)
        for name, value in items
        if (low := name.lower()) not in _REPRESENTATION and (keep_length or low != "content-length")
    ], b""


_date = (0, "")


def http_date() -> str:
    """The current time as an HTTP ``Date`` value (IMF-fixdate), formatted once a second."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, formatdate(now, usegmt=True))
    return _date[1]
