"""The benchmark service with utilmeta on Django's ASGI handler (async endpoints)."""

from benchmarks.apps._utilmeta import application

app = application(__name__, "django-asgi")
