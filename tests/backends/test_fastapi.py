"""The fastapi backend: every starlette case again on a ``FastAPI`` app, plus what is FastAPI's
own (the seed's ``FastAPI(debug=False)`` injection, its docs for its own routes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from fastapi import FastAPI

from utilmeta import UtilMeta

from .test_starlette import Cases, RootAPI


class TestFastAPI(Cases):
    backend: ClassVar[str] = "fastapi"

    def module(self) -> Any:
        import fastapi

        return fastapi

    def app_class(self) -> type:
        return FastAPI

    def native_app(self, **kwargs: Any) -> Any:
        app = FastAPI(**kwargs)

        @app.get("/native")
        def native() -> Any:
            from fastapi.responses import PlainTextResponse

            return PlainTextResponse("native")

        return app

    def test_run_serves_with_uvicorn_and_stops_on_sigterm(self, tmp_path: Path) -> None:
        from .test_starlette import check_real_server

        # the seed's "Inject custom application" sample, served for real
        check_real_server(tmp_path, "fastapi", "from fastapi import FastAPI", "FastAPI(debug=False)")

    async def test_seed_injected_fastapi_keeps_its_routes_and_docs(self) -> None:
        fastapi_app = FastAPI(debug=False)

        @fastapi_app.get("/native/{n}")
        def native(n: int) -> dict:
            return {"n": n}

        service = UtilMeta(__name__, name="demo", backend=fastapi_app, api=RootAPI, route="/api")
        app = service.application()
        assert app is fastapi_app and app.debug is False
        async with self.client(app) as c:
            assert (await c.get("/native/4")).json() == {"n": 4}
            assert (await c.get("/native/x")).status_code == 422  # FastAPI's own validation
            assert (await c.get("/api/hello")).text == "world"
            assert (await c.get("/docs")).status_code == 200
        assert list(app.openapi()["paths"]) == ["/native/{n}"]  # FastAPI documents its own routes

    def test_created_app_has_no_empty_fastapi_docs(self) -> None:
        from utilmeta.core.server.backends.starlette import APIRoute

        app = self.service().application()
        assert app.openapi_url is None
        # only the service's route: /docs and /openapi.json are the service's own
        assert [type(r) for r in app.routes] == [APIRoute]
