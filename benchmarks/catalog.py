"""What the benchmark serves: the applications, the servers, and which server runs which app.

Every utilmeta app is paired with its *baseline* — the same endpoints written natively for the
same backend (FastAPI for the fastapi backend, a bare callable for utilmeta's own asgi/wsgi
backends) — and both run on the same server with the same settings.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["App", "Server", "Row", "APPS", "SERVERS", "ROWS", "COMPETITORS", "select"]


@dataclass(frozen=True)
class App:
    key: str  #: ``utilmeta-flask``, ``flask``, ``fastapi``, ``bare-asgi`` ...
    module: str  #: the module exposing ``app``
    interface: str  #: ``wsgi``, ``asgi``, ``sanic`` or ``tornado``: how it is served and called
    baseline: str | None = None  #: the app a utilmeta app is compared with (utilmeta apps only)

    @property
    def target(self) -> str:
        return f"{self.module}:app"

    @property
    def is_utilmeta(self) -> bool:
        return self.baseline is not None


@dataclass(frozen=True)
class Server:
    key: str  #: ``uvicorn``, ``gunicorn-sync``, ``gunicorn-gevent``, ``sanic``, ``tornado``
    interface: str  #: the interface of the apps it serves


@dataclass(frozen=True)
class Row:
    server: Server
    app: App

    @property
    def label(self) -> str:
        return f"{self.server.key} · {self.app.key}"


def _apps() -> dict[str, App]:
    apps = [
        App("bare-asgi", "benchmarks.apps.bare_asgi", "asgi"),
        App("utilmeta-asgi", "benchmarks.apps.utilmeta_asgi", "asgi", "bare-asgi"),
        App("starlette", "benchmarks.apps.native_starlette", "asgi"),
        App("utilmeta-starlette", "benchmarks.apps.utilmeta_starlette", "asgi", "starlette"),
        App("fastapi", "benchmarks.apps.fastapi_app", "asgi"),
        App("utilmeta-fastapi", "benchmarks.apps.utilmeta_fastapi", "asgi", "fastapi"),
        App("litestar", "benchmarks.apps.litestar_app", "asgi"),
        App("django-asgi", "benchmarks.apps.native_django_asgi", "asgi"),
        App("utilmeta-django-asgi", "benchmarks.apps.utilmeta_django_asgi", "asgi", "django-asgi"),
        App("bare-wsgi", "benchmarks.apps.bare_wsgi", "wsgi"),
        App("utilmeta-wsgi", "benchmarks.apps.utilmeta_wsgi", "wsgi", "bare-wsgi"),
        App("flask", "benchmarks.apps.native_flask", "wsgi"),
        App("utilmeta-flask", "benchmarks.apps.utilmeta_flask", "wsgi", "flask"),
        App("django", "benchmarks.apps.native_django", "wsgi"),
        App("utilmeta-django", "benchmarks.apps.utilmeta_django", "wsgi", "django"),
        App("sanic", "benchmarks.apps.native_sanic", "sanic"),
        App("utilmeta-sanic", "benchmarks.apps.utilmeta_sanic", "sanic", "sanic"),
        App("tornado", "benchmarks.apps.native_tornado", "tornado"),
        App("utilmeta-tornado", "benchmarks.apps.utilmeta_tornado", "tornado", "tornado"),
    ]
    return {app.key: app for app in apps}


APPS: dict[str, App] = _apps()

SERVERS: dict[str, Server] = {
    s.key: s
    for s in (
        Server("uvicorn", "asgi"),
        Server("gunicorn-sync", "wsgi"),
        Server("gunicorn-gevent", "wsgi"),
        Server("sanic", "sanic"),
        Server("tornado", "tornado"),
    )
}

#: the frameworks utilmeta on starlette/fastapi is also compared with, on the same server
COMPETITORS = ("fastapi", "litestar")


def _rows() -> list[Row]:
    rows = []
    for server in SERVERS.values():
        for app in APPS.values():
            if app.interface != server.interface:
                continue
            # utilmeta's own WSGI callable against the bare one: once (sync workers) is enough
            if server.key == "gunicorn-gevent" and app.key == "utilmeta-wsgi":
                continue
            rows.append(Row(server, app))
    return rows


ROWS: list[Row] = _rows()


def select(rows: list[Row], only: list[str]) -> list[Row]:
    """The rows whose label contains any of ``only`` (all rows when it is empty)."""
    if not only:
        return list(rows)
    return [row for row in rows if any(part in row.label for part in only)]
