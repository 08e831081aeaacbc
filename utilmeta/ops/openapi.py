"""The OpenAPI document of a service, built from its compiled routes.

    from utilmeta.ops.openapi import generate, render
    doc = generate(service)                       # OpenAPI 3.1, as a dict
    render(doc, 'yaml')                           # bytes, the same on every backend

Every endpoint the router serves is an operation, except ``private`` ones (and those under a
private ``api.route``). The same service gives the same bytes on every backend: only the core's
routes, parsers and templates are read, in declaration order, and components are sorted.
``meta gen_openapi`` (``utilmeta/bin/routes.py``) writes it to a file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from utilmeta.core.api.base import API, SubAPI, join_route
from utilmeta.ops._downgrade import downgrade
from utilmeta.ops._operation import OperationBuilder
from utilmeta.ops._schema import Schemas

if TYPE_CHECKING:
    from utilmeta.core.api.decorators import RouteInfo
    from utilmeta.core.api.handler import Handler
    from utilmeta.core.api.router import Router
    from utilmeta.core.server.service import UtilMeta

__all__ = ["generate", "public_handlers", "render", "shown_version", "OPENAPI_VERSIONS"]

OPENAPI_VERSIONS = ("3.1", "3.0")
_OPERATION_ID = re.compile(r"[^A-Za-z0-9]+")


def _route_infos(root: type[API], mounts: Iterable[SubAPI]) -> dict[tuple[int, str], tuple[list[RouteInfo], str]]:
    """For each (endpoint, mounted route): the ``api.route`` infos on the way, and the first
    sub-API's name (the default tag). Walks the tree the way the router does."""
    found: dict[tuple[int, str], tuple[list[RouteInfo], str]] = {}

    def walk(api: type[API], prefix: str, infos: list[RouteInfo], top: str, extra: Iterable[SubAPI] = ()) -> None:
        for endpoint in api._endpoints:
            found.setdefault((id(endpoint), join_route(prefix, endpoint.route)), (infos, top))
        for sub in [*api._subs, *extra]:
            more = [*infos, sub.info] if sub.info is not None else infos
            walk(sub.api, join_route(prefix, sub.route), more, top or sub.attr)

    walk(root, "", [], "", mounts)
    return found


def public_handlers(router: Router) -> Iterator[tuple[Handler, list[RouteInfo], str]]:
    """The endpoints the document shows, in declaration order: every handler except ``private``
    ones (and those under a private ``api.route``), with its ``api.route`` infos and default tag."""
    infos = _route_infos(router.root, router.mounts)
    for handler in router.handlers:
        route_infos, top = infos.get((id(handler.endpoint), handler.route), ([], ""))
        if not (handler.endpoint.info.private or any(i.private for i in route_infos)):
            yield handler, route_infos, top


def _operation_id(method: str, route: str, given: str | None, taken: set[str]) -> str:
    base = given or (_OPERATION_ID.sub("_", route).strip("_") + "_" + method.lower()).lstrip("_")
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def shown_version(service: Any) -> str:
    """The version the docs show: the service's, else ``0.1.0`` (the index shows the same)."""
    return str(service.version or "0.1.0")


def _info(service: UtilMeta) -> dict[str, Any]:
    info: dict[str, Any] = {"title": service.title or service.name}
    if service.description:
        info["description"] = service.description
    info["version"] = shown_version(service)
    for key in ("summary", "termsOfService", "contact", "license"):
        if key in service.info:
            info[key] = service.info[key]
    return info


def generate(
    service: UtilMeta,
    *,
    openapi_version: str = "3.1",
    servers: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The OpenAPI document of ``service`` as a dict (``openapi_version`` ``'3.1'`` or ``'3.0'``).

    ``servers`` are the base URLs to list; by default the service's origin and root route.
    """
    if openapi_version not in OPENAPI_VERSIONS:
        raise ValueError(f"openapi_version must be one of {', '.join(OPENAPI_VERSIONS)}, got {openapi_version!r}")
    from utilmeta.conf import Preference

    router = service.router
    pref = service.get_config(Preference) or Preference()
    schemas = Schemas()
    builder = OperationBuilder(schemas, host_check=pref.allowed_hosts is not None)
    paths: dict[str, dict[str, Any]] = {}
    taken: set[str] = set()
    for handler, route_infos, top in public_handlers(router):
        endpoint = handler.endpoint
        op_id = _operation_id(endpoint.method, handler.route, endpoint.info.operation_id, taken)
        operation = builder.build(handler, op_id, route_infos, top or None)
        paths.setdefault(handler.route, {})[endpoint.method.lower()] = operation
    doc: dict[str, Any] = {"openapi": "3.1.0", "info": _info(service)}
    urls = list(servers) if servers is not None else [service.origin + service.route]
    doc["servers"] = [{"url": url} for url in urls]
    doc["paths"] = paths
    tags = _tags(paths)
    if tags:
        doc["tags"] = tags
    doc["components"] = {
        "schemas": dict(sorted(schemas.components.items())),
        "responses": dict(sorted(builder.components.items())),
        "headers": {
            "X-Request-ID": {
                "description": "The request's id (the client's own X-Request-ID when well formed); "
                "the service's log lines for the request carry it",
                "schema": {"type": "string"},
            }
        },
    }
    return downgrade(doc) if openapi_version == "3.0" else doc


def _tags(paths: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, None] = {}
    for item in paths.values():
        for op in item.values():
            for tag in op.get("tags", ()):
                seen.setdefault(tag, None)
    return [{"name": t} for t in seen]


def render(doc: dict[str, Any], fmt: str = "json", *, indent: int = 2) -> bytes:
    """The document as bytes: ``'json'`` (``indent=0`` for compact) or ``'yaml'`` (needs PyYAML)."""
    if fmt == "json":
        data = msgspec.json.encode(doc)
        return msgspec.json.format(data, indent=indent) + b"\n" if indent else data
    if fmt == "yaml":
        try:
            import yaml
        except ImportError:
            raise RuntimeError("YAML output needs PyYAML: pip install 'utilmeta[yaml]'") from None

        class Dumper(yaml.SafeDumper):
            def ignore_aliases(self, data: Any) -> bool:
                return True  # a schema used twice is written twice, not as an &anchor

        text = yaml.dump(doc, Dumper=Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False)
        return text.encode()
    raise ValueError(f"format must be 'json' or 'yaml', got {fmt!r}")
