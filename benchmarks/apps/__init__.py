"""One module per benchmarked application, each exposing ``app``.

``utilmeta_<backend>`` serve :mod:`benchmarks.core_app` through utilmeta; ``native_<framework>``,
``fastapi_app`` and ``litestar_app`` are the same endpoints written directly in each framework;
``bare_asgi`` / ``bare_wsgi`` are hand-written callables (the ceiling of the server itself).
"""
