"""The service's index: what ``GET <route>`` answers when the user's APIs serve nothing there.

The start banner and the README show the root route (``http://127.0.0.1:8000/api``) as the
service's address, so it answers something a person can follow: the service's name, version and
description, where the docs page and the OpenAPI document are, and the API's routes::

    {"name": "demo", "version": "1.0.0", "description": "",
     "docs": "/api/docs", "openapi": "/api/openapi.json",
     "routes": [{"method": "GET", "path": "/api/hello", "summary": null}]}

It follows the docs (``utilmeta.ops.docs``): served when they are (not in production unless
``Docs(enabled=True)``), listing what the OpenAPI document lists (never a private endpoint), and
off with ``Docs(index=False)``. A GET (or any endpoint) the user declares at the root route wins:
the router serves a side mount only where the user's APIs leave the path free. The endpoint is
private: it is not in the document.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from utilmeta.core import api
from utilmeta.core.api.base import API, SubAPI
from utilmeta.core.api.decorators import RouteInfo
from utilmeta.core.response import Response
from utilmeta.ops.docs import Docs
from utilmeta.ops.openapi import shown_version

if TYPE_CHECKING:
    from utilmeta.core.server.service import UtilMeta

__all__ = ["index", "index_mounts"]


def index(service: UtilMeta, config: Docs) -> dict[str, Any]:
    """The index of ``service`` as a dict (paths include the root route)."""
    from utilmeta.ops.openapi import public_handlers

    root = service.route
    router = service.router
    routes = [
        {
            "method": handler.endpoint.method,
            "path": (router.prefix + handler.route).rstrip("/") or "/",
            "summary": handler.endpoint.info.summary,
        }
        for handler, _, _ in public_handlers(router)
    ]
    return {
        "name": service.name,
        "version": shown_version(service),
        "description": service.description,
        "docs": f"{root}/{config.docs_path}" if config.docs_path else None,
        "openapi": f"{root}/{config.openapi_path}",
        "routes": routes,
    }


def _index_api(service: UtilMeta, config: Docs) -> type[API]:
    built: list[bytes] = []  # on first use: the router is complete only then

    class IndexAPI(API):
        @api.get("", private=True, summary="the service's index: name, version, docs and routes")
        def index(self) -> Response:
            if not built:
                built.append(msgspec.json.format(msgspec.json.encode(index(service, config)), indent=2) + b"\n")
            return Response(body=built[0], content_type="application/json", headers={"Cache-Control": "no-cache"})

    return IndexAPI


def index_mounts(service: UtilMeta) -> list[SubAPI]:
    """The API serving the index, to mount at the root route (none when it is off)."""
    config = service.get_config(Docs) or Docs()
    if not (config.index and config.is_enabled(service)):
        return []
    return [SubAPI("index", "", _index_api(service, config), RouteInfo("", private=True))]
