"""The utilmeta service of :mod:`benchmarks.core_app` on a given backend, as each
``utilmeta_<backend>`` module builds it."""

from __future__ import annotations

from typing import Any

from benchmarks.core_app import AsyncBenchAPI, BenchAPI
from utilmeta import UtilMeta

#: backends benchmarked with the async endpoints (``asynchronous=True``); the others run sync ones
ASYNC_BACKENDS = frozenset({"asgi", "starlette", "fastapi", "sanic", "tornado", "django-asgi"})


def application(module_name: str, backend: str) -> Any:
    """The native application of the benchmark service (``django-asgi``: django, asynchronous)."""
    asynchronous = backend in ASYNC_BACKENDS
    service = UtilMeta(
        module_name,
        backend=backend.removesuffix("-asgi"),
        name="utilmeta_bench",
        api=AsyncBenchAPI if asynchronous else BenchAPI,
        route="/",
        production=True,
        asynchronous=asynchronous,
    )
    if backend.startswith("django"):
        from utilmeta.core.server.backends.django import DjangoSettings

        service.use(DjangoSettings(secret_key="benchmark"))
    return service.application()
