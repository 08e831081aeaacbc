"""UtilMeta's ``OpenAPI``: ``from utilmeta.core.api.specs.openapi import OpenAPI``.

``OpenAPI(service)()`` is the service's OpenAPI 3.1 document (a dict) and ``.save(file)``
writes it (JSON; YAML for ``.yaml`` / ``.yml``). ``OpenAPI.as_api(path=None, private=True)`` is
an API class answering GET with the document, mounted like any other API::

    class RootAPI(api.API):
        docs: OpenAPI.as_api('openapi.json')     # GET /api/docs

``path`` (relative to the service module's folder) also receives the document when it is first
served; ``private`` leaves the endpoint out of the document. The document is the one served at
``<root route>/openapi.json``: ``utilmeta.ops.openapi`` builds it, reached through
``provided('openapi')`` (the core never imports ``ops``).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import msgspec

from utilmeta.conf._lookup import current_service, provided
from utilmeta.core.api import API, get
from utilmeta.core.response import Response

__all__ = ["OpenAPI"]


class OpenAPI:
    """The OpenAPI document of ``service`` (the process's service by default)."""

    def __init__(self, service: Any = None):
        service = service if service is not None else current_service()
        if service is None:
            raise LookupError("OpenAPI(): no UtilMeta service exists yet; create one first")
        self.service = service

    def __call__(self, servers: list[str] | None = None) -> dict[str, Any]:
        """The document; ``servers`` are the base URLs to list (default: the service's URL)."""
        document: dict[str, Any] = provided("openapi")(self.service, servers)
        return document

    def save(self, file: str, document: dict[str, Any] | None = None) -> str:
        """Write the document to ``file`` (relative to the service module's folder); its path."""
        return _write(self.service, file, document if document is not None else self())

    @classmethod
    def as_api(cls, path: str | None = None, private: bool = True) -> type[API]:
        """An API class serving the document with GET (see the module docstring)."""
        if path is not None and not isinstance(path, str):
            raise TypeError(f"OpenAPI.as_api(path): a file path, got {path!r}")
        built: dict[int, bytes] = {}
        lock = threading.Lock()

        def document() -> bytes:
            service = current_service()
            body = built.get(id(service))
            if body is None:
                with lock:
                    body = built.get(id(service))
                    if body is None:
                        # relative to where it is served: tools that load it reach this very service
                        doc = cls(service)(servers=[service.route or "/"])
                        if path:
                            _write(service, path, doc)
                        body = built[id(service)] = msgspec.json.encode(doc)
            return body

        class OpenAPIDocument(API):
            @get("", private=private)
            def get(self) -> Response:
                return Response(body=document(), content_type="application/json")

        return OpenAPIDocument


def _write(service: Any, file: str, document: dict[str, Any]) -> str:
    if not os.path.isabs(file):
        base = os.path.dirname(service.module_file) if service.module_file else os.getcwd()
        file = os.path.join(base, file)
    if file.endswith((".yaml", ".yml")):
        from utilmeta.utils.deps import require

        data = require("yaml", "yaml", package="PyYAML").safe_dump(document, sort_keys=False, allow_unicode=True)
        content = data.encode()
    else:
        content = msgspec.json.format(msgspec.json.encode(document), indent=2)
    with open(file, "wb") as f:
        f.write(content)
    return file
