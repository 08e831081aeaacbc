"""utilmeta: declare typed APIs once, run them on django, flask, starlette, fastapi, sanic or tornado."""

import sys
from typing import Any

from utilmeta.conf._lookup import provide
from utilmeta.core.server.service import SIDE_MOUNTS, UtilMeta

__version__ = "0.1.0"
__all__ = ["UtilMeta", "service", "__version__"]


def _docs_mounts(service: UtilMeta) -> list[Any]:
    # the package wires ops into the service (the core never imports ops). In production the
    # docs are off unless a Docs config turns them on, and a Docs config means its module is
    # loaded: otherwise a production service never imports it
    if service.production and "utilmeta.ops.docs" not in sys.modules:
        return []
    from utilmeta.ops.docs import docs_mounts

    return docs_mounts(service)


SIDE_MOUNTS["docs"] = _docs_mounts


def _openapi_document(service: UtilMeta, servers: list[str] | None) -> dict[str, Any]:
    # for utilmeta.core.api.specs.openapi, which cannot import ops
    from utilmeta.ops.openapi import generate

    return generate(service, servers=servers)


provide("openapi", _openapi_document)


def __getattr__(name: str) -> Any:
    # `from utilmeta import service` gives the process's service, created by UtilMeta(...)
    if name == "service":
        from utilmeta.core.server.service import get_service

        current = get_service()
        if current is None:
            # ImportError (not AttributeError), so `from utilmeta import service` shows this message
            raise ImportError(
                "no UtilMeta service has been created in this process yet: create one with "
                "UtilMeta(__name__, backend=...) before `from utilmeta import service`"
            )
        return current
    raise AttributeError(f"module 'utilmeta' has no attribute {name!r}")
