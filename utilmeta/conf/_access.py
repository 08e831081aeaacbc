"""The access line: one log record per request, on the ``utilmeta.access`` logger.

It is the first request observer (``utilmeta/core/api/observer.py``): every service observes
:data:`ACCESS_LOG` from the start, and ``Logging(access_log=False)`` takes it off. Nothing is
logged unless ``utilmeta.access`` is enabled for INFO (``Logging`` does that, or any ``logging``
setup of your own); disabled, a request costs one call and one cached level check. A line
carries the method, path, route template, status, duration, client IP and request id, as text
(``GET /api/hello 200 1.2ms 10.0.0.7 5f1c...``) and as record attributes that ``JsonFormatter``
(``utilmeta/utils/log.py``) writes as fields.

A small module of its own: the service imports it at creation, so it loads nothing else.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from utilmeta.utils.text import shown

__all__ = ["ACCESS_LOGGER", "ACCESS_FIELDS", "ACCESS_LOG", "AccessLog", "access_logger", "log_access"]

ACCESS_LOGGER = "utilmeta.access"
ACCESS_FIELDS = ("method", "path", "route", "status", "duration_ms", "client_ip", "request_id")
access_logger = logging.getLogger(ACCESS_LOGGER)
_INFO = logging.INFO


def log_access(request: Any, response: Any, duration: float | None = None) -> None:
    """Log one finished request on ``utilmeta.access`` (INFO); ``duration`` in seconds, measured
    from the request's arrival when not given. Returns at once when the logger is disabled."""
    logger = access_logger
    if not logger.isEnabledFor(_INFO):
        return
    if duration is None:
        duration = time.time() - request._received
    ms = round(duration * 1000, 3)
    ip = request.ip_address
    fields = {
        "method": request.method,
        "path": request.path,
        "route": request.route or None,
        "status": response.status,
        "duration_ms": ms,
        "client_ip": ip,
        "request_id": request.request_id,
    }
    logger.info(
        "%s %s %s %.1fms %s %s",
        request.method,
        shown(request.path),  # a client's path: no control characters in a text log line
        response.status,
        ms,
        ip or "-",
        request.request_id or "-",
        extra=fields,
    )


class AccessLog:
    """The access line as a request observer: :func:`log_access` on ``finished``, nothing else."""

    finished = staticmethod(log_access)  # called as the observer's method, without a wrapper frame

    def __repr__(self) -> str:
        return "AccessLog()"


#: the access-log observer, one per process: every service starts observing it
ACCESS_LOG = AccessLog()
