"""The benchmark service with utilmeta on Flask (sync endpoints)."""

from benchmarks.apps._utilmeta import application

app = application(__name__, "flask")
