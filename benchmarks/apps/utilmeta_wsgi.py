"""The benchmark service with utilmeta on the framework-free WSGI callable (sync endpoints)."""

from benchmarks.apps._utilmeta import application

app = application(__name__, "wsgi")
