"""The service's own API docs: ``<route>/openapi.json`` and an interactive page at ``<route>/docs``.

    service.use(Docs(ui='redoc', docs_path='reference'))

The page works offline: Swagger UI (or ReDoc) comes from a PyPI package and is served by the
service itself, never from a CDN. Packages that carry the UI, tried in order (located without
being imported):

- Swagger UI 5: ``drf-spectacular-sidecar`` or ``swagger-ui-bundle-v2``;
- ReDoc: ``drf-spectacular-sidecar``.

Without one the page explains what to install (status 503); ``openapi.json`` needs nothing.
On by default, except in production (``UtilMeta(production=True)``), where ``Docs(enabled=True)``
turns it on. The endpoints are private: they are not in the document they serve.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Annotated

import msgspec

from utilmeta.conf.base import Config
from utilmeta.core import api, request
from utilmeta.core.api.base import API, SubAPI
from utilmeta.core.api.decorators import RouteInfo
from utilmeta.core.response import Response
from utilmeta.utils.exceptions import NotFound

if TYPE_CHECKING:
    from pathlib import Path

    from utilmeta.core.server.service import UtilMeta

# html, json, pathlib and importlib.util are imported where the page is built: a service with
# the docs off (production) never loads them

__all__ = ["Docs", "docs_mounts", "docs_page_path", "find_assets", "UIAssets"]

logger = logging.getLogger("utilmeta")

UIS = ("swagger", "redoc")

#: ui -> (import name, folder in it (a glob), pip name), in order of preference
_PROVIDERS: dict[str, list[tuple[str, str, str]]] = {
    "swagger": [
        ("drf_spectacular_sidecar", "static/drf_spectacular_sidecar/swagger-ui-dist", "drf-spectacular-sidecar"),
        ("swagger_ui_bundle", "vendor/swagger-ui-5.*", "swagger-ui-bundle-v2"),  # 4.x cannot show OpenAPI 3.1
    ],
    "redoc": [
        ("drf_spectacular_sidecar", "static/drf_spectacular_sidecar/redoc/bundles", "drf-spectacular-sidecar"),
    ],
}
_NEEDED = {
    "swagger": ("swagger-ui-bundle.js", "swagger-ui.css"),
    "redoc": ("redoc.standalone.js",),
}
_OPTIONAL = {"swagger": ("favicon-32x32.png",), "redoc": ()}
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
#: what the page may load: only this service; Try-it-out requests go to it too
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'none'"
)

_INIT_JS = """(function () {
  var config = JSON.parse(document.getElementById("utilmeta-docs").textContent);
  if (config.ui === "redoc") {
    Redoc.init(config.url, {}, document.getElementById("redoc"));
    return;
  }
  window.ui = SwaggerUIBundle({
    url: config.url,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout"
  });
})();
"""


class UIAssets(msgspec.Struct):
    """A UI's files found in an installed package."""

    ui: str
    package: str
    folder: Path
    files: dict[str, Path] = msgspec.field(default_factory=dict)


def _package_dir(name: str) -> Path | None:
    import importlib.util
    from pathlib import Path

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def find_assets(ui: str) -> UIAssets | None:
    """The first installed package that carries ``ui`` (``'swagger'`` or ``'redoc'``), or None."""
    for package, pattern, _ in _PROVIDERS[ui]:
        root = _package_dir(package)
        if root is None:
            continue
        for folder in sorted(root.glob(pattern), reverse=True):
            if all((folder / n).is_file() for n in _NEEDED[ui]):
                names = [*_NEEDED[ui], *(n for n in _OPTIONAL[ui] if (folder / n).is_file())]
                return UIAssets(ui, package, folder, {n: folder / n for n in names})
    return None


def install_hint(ui: str) -> str:
    names = " or ".join(f"`pip install {p}`" for *_, p in _PROVIDERS[ui])
    return f"the {'Swagger UI' if ui == 'swagger' else 'ReDoc'} page needs its files from PyPI: {names}"


class Docs(Config):
    """Options of the docs endpoints.

    ``enabled``: None (the default) serves them unless the service is in production.
    ``openapi_path`` / ``docs_path``: where, under the root route (``docs_path=None``: no page).
    ``ui``: ``'swagger'`` (Swagger UI, with Try-it-out) or ``'redoc'``.
    ``index``: answer ``GET <route>`` with the service's index (``utilmeta.ops.index``) when the
    user's APIs serve nothing there.
    """

    def __init__(
        self,
        *,
        enabled: bool | None = None,
        openapi_path: str = "openapi.json",
        docs_path: str | None = "docs",
        ui: str = "swagger",
        title: str | None = None,
        index: bool = True,
    ):
        if ui not in UIS:
            raise ValueError(f"Docs(ui=...): choose one of {', '.join(UIS)}, got {ui!r}")
        if not openapi_path or not openapi_path.strip("/"):
            raise ValueError("Docs(openapi_path=...): give a path such as 'openapi.json'")
        self.enabled = enabled
        self.openapi_path = openapi_path.strip("/")
        self.docs_path = docs_path.strip("/") if docs_path else None
        if docs_path is not None and not self.docs_path:
            raise ValueError("Docs(docs_path=...): give a path such as 'docs', or None for no page")
        self.ui = ui
        self.title = title
        self.index = index

    def is_enabled(self, service: UtilMeta) -> bool:
        return self.enabled if self.enabled is not None else not service.production


class _Cache:
    """The rendered document and assets, built once per process on first use."""

    def __init__(self, service: UtilMeta):
        self.service = service
        self.lock = threading.Lock()
        self.document: bytes | None = None
        self.files: dict[str, bytes] = {}

    def openapi(self) -> bytes:
        if self.document is None:
            from utilmeta.ops.openapi import generate, render

            with self.lock:
                if self.document is None:
                    # relative to where the page is served: Try-it-out reaches this very service
                    doc = generate(self.service, servers=[self.service.route or "/"])
                    self.document = render(doc, "json", indent=0)
        return self.document

    def file(self, path: Path) -> bytes:
        key = str(path)
        data = self.files.get(key)
        if data is None:
            data = self.files[key] = path.read_bytes()
        return data


def _page(title: str, ui: str, spec_url: str, assets_url: str, assets: UIAssets | None) -> tuple[int, str]:
    import html
    import json

    esc = html.escape
    if assets is None:
        body = f"<h1>{esc(title)}</h1><p>{esc(install_hint(ui))}.</p><p><a href='{esc(spec_url)}'>openapi.json</a></p>"
        meta = f"<meta charset='utf-8'><title>{esc(title)}</title>"
        return 503, f"<!DOCTYPE html><html lang='en'><head>{meta}</head><body>{body}</body></html>\n"
    config = json.dumps({"ui": ui, "url": spec_url}).replace("<", "\\u003c")
    head = [
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
    ]
    if ui == "swagger":
        head.append(f'<link rel="stylesheet" href="{esc(assets_url)}/swagger-ui.css">')
        if "favicon-32x32.png" in assets.files:
            head.append(f'<link rel="icon" type="image/png" href="{esc(assets_url)}/favicon-32x32.png">')
        mount, script = '<div id="swagger-ui"></div>', "swagger-ui-bundle.js"
    else:
        mount, script = '<div id="redoc"></div>', "redoc.standalone.js"
    return 200, (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n{chr(10).join(head)}\n</head>\n<body>\n{mount}\n'
        f'<script type="application/json" id="utilmeta-docs">{config}</script>\n'
        f'<script src="{esc(assets_url)}/{script}"></script>\n<script src="{esc(assets_url)}/init.js"></script>\n'
        f"</body>\n</html>\n"
    )


def _docs_api(service: UtilMeta, config: Docs) -> type[API]:
    cache = _Cache(service)
    root = service.route
    spec_url = f"{root}/{config.openapi_path}"
    title = config.title or f"{service.title} API"
    docs_path = config.docs_path

    class DocsAPI(API):
        @api.get(config.openapi_path, private=True, summary="the OpenAPI document")
        def openapi(self) -> Response:
            return Response(
                body=cache.openapi(), content_type="application/json", headers={"Cache-Control": "no-cache"}
            )

    if docs_path is None:
        return DocsAPI

    assets = find_assets(config.ui)
    if assets is None:
        logger.warning("utilmeta docs: %s", install_hint(config.ui))
    assets_url = f"{root}/{docs_path}/assets"
    status, page = _page(title, config.ui, spec_url, assets_url, assets)
    page_bytes = page.encode()
    init_js = _INIT_JS.encode()
    page_headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}
    if service.preference.docs_deny_framing:  # no clickjacking through another site's frame
        page_headers["Content-Security-Policy"] = f"{CSP}; frame-ancestors 'none'"
        page_headers["X-Frame-Options"] = "DENY"

    class DocsPageAPI(DocsAPI):
        @api.get(docs_path, private=True, summary="the API docs page")
        def docs_page(self) -> Response:
            return Response(
                body=page_bytes,
                status=status,
                content_type="text/html; charset=utf-8",
                headers=page_headers,
            )

        @api.get(f"{docs_path}/assets/{{name}}", private=True, summary="the docs page's scripts and styles")
        def docs_asset(self, name: Annotated[str, request.PathParam(regex=r"[A-Za-z0-9._-]+")]) -> Response:
            if name == "init.js":
                data, ctype = init_js, _TYPES[".js"]
            elif assets is not None and name in assets.files:
                path = assets.files[name]
                data, ctype = cache.file(path), _TYPES.get(path.suffix, "application/octet-stream")
            else:
                raise NotFound(f"no docs asset {name!r}")
            return Response(body=data, content_type=ctype, headers={"Cache-Control": "public, max-age=86400"})

    return DocsPageAPI


def docs_mounts(service: UtilMeta) -> list[SubAPI]:
    """The API classes serving the docs, to mount at the root route (none when disabled)."""
    config = service.get_config(Docs) or Docs()
    if not config.is_enabled(service):
        return []
    return [SubAPI("docs", "", _docs_api(service, config), RouteInfo("", private=True))]


def docs_page_path(service: UtilMeta) -> str | None:
    """Where the docs page is (``'/api/docs'``), for the start banner; None when it is not served."""
    config = service.get_config(Docs) or Docs()
    if not config.is_enabled(service) or config.docs_path is None:
        return None
    path = f"{service.route}/{config.docs_path}"
    router = service.router
    found = router.match(path)
    page = found[0].methods.get("GET") if found is not None else None
    return path if page is not None and router.served_by.get(page) == "docs" else None  # not a user's own
