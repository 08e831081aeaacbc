"""The benchmark service with utilmeta on Tornado (async endpoints)."""

from benchmarks.apps._utilmeta import application

app = application(__name__, "tornado")
