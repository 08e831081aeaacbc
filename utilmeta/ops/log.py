"""The service's logs, as operations tooling sees them (``utilmeta.ops.log``).

The access line and the log formats and handlers live below ``ops``, where the ``Logging``
config (``utilmeta.conf``) can use them without importing upwards: the access line is the
request observer every service starts with (``utilmeta/conf/_access.py``), the formats and handlers
are shared helpers (``utilmeta/utils/log.py``). They are re-exported here under the names the
documentation uses. The request-log store, another observer, will live beside them here.
"""

from __future__ import annotations

from utilmeta.conf._access import ACCESS_FIELDS, ACCESS_LOGGER, AccessLog, access_logger, log_access
from utilmeta.utils.log import BackgroundHandler, JsonFormatter, WebhookHandler

__all__ = [
    "ACCESS_LOGGER",
    "ACCESS_FIELDS",
    "AccessLog",
    "BackgroundHandler",
    "JsonFormatter",
    "WebhookHandler",
    "access_logger",
    "log_access",
]
