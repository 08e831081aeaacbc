"""utilmeta: declare typed APIs once, run them on django, flask, starlette, fastapi, sanic or tornado."""

import sys
from typing import Any

from utilmeta.conf._lookup import provide
from utilmeta.core.server.service import BANNER_LINKS, SIDE_MOUNTS, UtilMeta

__version__ = "0.1.0"
__all__ = ["UtilMeta", "service", "__version__"]


def _ops_off(service: UtilMeta) -> bool:
    # the package wires ops into the service (the core never imports ops). In production the
    # docs and the index are off unless a Docs config turns them on, and a Docs config means its
    # module is loaded: otherwise a production service never imports them
    return service.production and "utilmeta.ops.docs" not in sys.modules


def _docs_mounts(service: UtilMeta) -> list[Any]:
    if _ops_off(service):
        return []
    from utilmeta.ops.docs import docs_mounts

    return docs_mounts(service)


def _index_mounts(service: UtilMeta) -> list[Any]:
    if _ops_off(service):
        return []
    from utilmeta.ops.index import index_mounts

    return index_mounts(service)


def _docs_link(service: UtilMeta) -> str | None:
    if _ops_off(service):
        return None
    from utilmeta.ops.docs import docs_page_path

    return docs_page_path(service)


SIDE_MOUNTS["docs"] = _docs_mounts
SIDE_MOUNTS["index"] = _index_mounts
BANNER_LINKS["API docs"] = _docs_link


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
