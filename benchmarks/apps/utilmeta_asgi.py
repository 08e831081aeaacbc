"""The benchmark service with utilmeta on the framework-free ASGI callable (async endpoints)."""

from benchmarks.apps._utilmeta import application

app = application(__name__, "asgi")
