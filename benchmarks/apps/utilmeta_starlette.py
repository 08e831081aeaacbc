"""The benchmark service with utilmeta on Starlette (async endpoints)."""

from benchmarks.apps._utilmeta import application

app = application(__name__, "starlette")
