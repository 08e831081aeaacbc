"""utilmeta's benchmark: the same three endpoints served by utilmeta on every backend, by each
framework natively, by FastAPI, by Litestar and by bare ASGI/WSGI callables.

Run it with ``scripts/bench`` (see ``docs/benchmark.md``); :mod:`benchmarks.run` is the driver.
"""
