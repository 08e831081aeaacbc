"""The benchmark service with utilmeta on Django's WSGI handler (sync endpoints)."""

from benchmarks.apps._utilmeta import application

app = application(__name__, "django")
