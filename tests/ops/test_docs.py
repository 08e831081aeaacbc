"""The docs endpoints: ``<route>/openapi.json`` and the offline docs page with its assets."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from optional import unavailable

from utilmeta.ops import Docs, generate, render
from utilmeta.ops import docs as docs_module
from utilmeta.testing import TestClient

from .apis import make_service

EXTERNAL = re.compile(rb"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def needs_ui(ui: str) -> None:
    """Skip without a package that carries the UI; under CI that is a failure (CI installs it)."""
    if docs_module.find_assets(ui) is None:
        unavailable(f"no package with the {ui} UI is installed: {docs_module.install_hint(ui)}")


def client(*configs: Docs, **kwargs: Any) -> TestClient:
    service = make_service("wsgi", **kwargs)
    for config in configs:
        service.use(config)
    return TestClient(service)


def test_openapi_json_is_served_at_the_root_route() -> None:
    c = client()
    r = c.get("/api/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    expected = render(generate(c.service, servers=["/api"]), indent=0)
    assert r.content == expected
    doc = r.json()
    assert doc["servers"] == [{"url": "/api"}]  # relative: Try-it-out reaches the service that served it
    assert not any(p.startswith(("/openapi", "/docs")) for p in doc["paths"])  # private


def test_document_is_built_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import utilmeta.ops.openapi as openapi

    calls = []
    real = openapi.generate
    monkeypatch.setattr(openapi, "generate", lambda *a, **k: calls.append(1) or real(*a, **k))
    c = client()
    first = c.get("/api/openapi.json").content
    assert c.get("/api/openapi.json").content == first
    assert len(calls) == 1


def test_swagger_page_loads_only_local_assets() -> None:
    needs_ui("swagger")
    c = client()
    r = c.get("/api/docs")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert not EXTERNAL.search(r.content), "the page must not load anything from elsewhere"
    config = json.loads(re.search(rb'id="utilmeta-docs">(.*?)</script>', r.content).group(1))  # type: ignore[union-attr]
    assert config == {"ui": "swagger", "url": "/api/openapi.json"}
    sources = re.findall(rb'(?:src|href)="([^"]+)"', r.content)
    assert sources and all(s.startswith(b"/api/docs/assets/") for s in sources)
    types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png"}
    for src in sources:
        asset = c.get(src.decode())
        assert asset.status_code == 200, src
        assert asset.headers["content-type"] == types[Path(src.decode()).suffix]
        assert len(asset.content) > 0
    assert b"SwaggerUIBundle" in c.get("/api/docs/assets/init.js").content


def test_unknown_assets_are_not_found() -> None:
    c = client()
    for name in ("nope.js", "..", "LICENSE", "swagger-ui-bundle.js.map"):
        assert c.get(f"/api/docs/assets/{name}").status_code == 404, name
    assert c.get("/api/docs/assets/a/b.js").status_code == 404


def test_redoc_page() -> None:
    needs_ui("redoc")
    c = client(Docs(ui="redoc"))
    page = c.get("/api/docs")
    assert page.status_code == 200 and b'id="redoc"' in page.content
    assert not EXTERNAL.search(page.content)
    js = c.get("/api/docs/assets/redoc.standalone.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")


def test_off_in_production_unless_enabled() -> None:
    c = client(production=True)
    assert c.get("/api/openapi.json").status_code == 404
    assert c.get("/api/docs").status_code == 404
    from utilmeta.core.server.service import _clear_service

    _clear_service()
    c = client(Docs(enabled=True), production=True)
    assert c.get("/api/openapi.json").status_code == 200
    _clear_service()
    c = client(Docs(enabled=False))
    assert c.get("/api/openapi.json").status_code == 404


def test_renamed_paths_and_no_page() -> None:
    c = client(Docs(openapi_path="/spec/v1.json", docs_path="reference/"))
    assert c.get("/api/spec/v1.json").status_code == 200
    page = c.get("/api/reference")
    assert page.status_code == 200 and b'"url": "/api/spec/v1.json"' in page.content
    assert c.get("/api/reference/assets/init.js").status_code == 200
    assert c.get("/api/docs").status_code == 404
    from utilmeta.core.server.service import _clear_service

    _clear_service()
    c = client(Docs(docs_path=None))
    assert c.get("/api/openapi.json").status_code == 200
    assert c.get("/api/docs").status_code == 404


def test_page_explains_a_missing_ui_package(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(docs_module, "find_assets", lambda ui: None)
    c = client()
    page = c.get("/api/docs")
    assert page.status_code == 503
    assert b"pip install drf-spectacular-sidecar" in page.content
    assert "needs its files from PyPI" in caplog.text
    assert c.get("/api/openapi.json").status_code == 200


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="ui"):
        Docs(ui="rapidoc")
    with pytest.raises(ValueError, match="openapi_path"):
        Docs(openapi_path="/")
    with pytest.raises(ValueError, match="docs_path"):
        Docs(docs_path="/")


def _fake_package(root: Path, name: str, folder: str, files: tuple[str, ...]) -> None:
    (root / name).mkdir()
    (root / name / "__init__.py").write_text("raise ImportError('found without being imported')\n")
    target = root / name / folder
    target.mkdir(parents=True)
    for f in files:
        (target / f).write_text("/* asset */")


def test_assets_are_found_in_the_first_package_that_has_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(
        docs_module,
        "_PROVIDERS",
        {
            "swagger": [
                ("fake_old_bundle", "vendor/swagger-ui-5.*", "fake-old"),
                ("fake_bundle", "vendor/swagger-ui-5.*", "fake"),
            ],
            "redoc": [],
        },
    )
    # Swagger UI 4 cannot show OpenAPI 3.1: a package that only has it does not count
    _fake_package(tmp_path, "fake_old_bundle", "vendor/swagger-ui-4.15.5", ("swagger-ui-bundle.js", "swagger-ui.css"))
    _fake_package(tmp_path, "fake_bundle", "vendor/swagger-ui-5.31.0", ("swagger-ui-bundle.js", "swagger-ui.css"))
    found = docs_module.find_assets("swagger")
    assert found is not None and found.package == "fake_bundle"
    assert set(found.files) == {"swagger-ui-bundle.js", "swagger-ui.css"}
    assert docs_module.find_assets("redoc") is None
    assert "fake_bundle" not in sys.modules


def test_docs_stand_apart_from_the_root_api() -> None:
    """The root API's hooks, template and plugins are for its endpoints, not for the docs; and the
    docs live under the root route only, even when the API itself answers outside it."""
    from utilmeta import UtilMeta
    from utilmeta.conf import Preference
    from utilmeta.core import api
    from utilmeta.core.response import Response
    from utilmeta.utils.exceptions import Unauthorized

    class Wrapped(Response):
        result_key = "data"

    class RootAPI(api.API):
        response = Wrapped

        @api.get
        def hello(self) -> str:
            return "world"

        @api.before("*")
        def login_required(self) -> None:
            if self.request.headers.get("x-token") != "secret":
                raise Unauthorized("log in first")

    service = UtilMeta(__name__, backend="wsgi", api=RootAPI, route="/api")
    service.use(Preference(strict_root_route=False))
    with TestClient(service) as c:
        assert c.get("/api/hello").status_code == 401
        assert c.get("/hello", headers={"x-token": "secret"}).json() == {"data": "world"}
        doc = c.get("/api/openapi.json")
        assert doc.status_code == 200 and doc.json()["openapi"].startswith("3.1")
        assert c.get("/openapi.json").status_code == 404
