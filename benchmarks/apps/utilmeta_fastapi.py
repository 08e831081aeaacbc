"""The benchmark service with utilmeta on FastAPI (async endpoints)."""

from benchmarks.apps._utilmeta import application

app = application(__name__, "fastapi")
