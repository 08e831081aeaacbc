"""The benchmark service with utilmeta on Sanic (async endpoints)."""

from benchmarks.apps._utilmeta import application

app = application(__name__, "sanic")
