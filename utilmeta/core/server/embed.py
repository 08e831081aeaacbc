"""An API class served inside an application that is not a UtilMeta service's own:
``API.__as__(backend, route, asynchronous=None)`` (UtilMeta's progressive migration).

``backend`` is

- a Flask, Starlette, FastAPI or Sanic application: the API answers below ``route`` beside the
  app's own routes, and the app is returned (run it as before: ``app.run()``, ``uvicorn.run(app)``);
- the ``django`` module: a URL pattern is returned, for the project's ``urlpatterns``;
- the ``tornado`` module: a rule is returned, for ``tornado.web.Application([...])``;
- a Django ``WSGIHandler`` / ``ASGIHandler`` or a ``tornado.web.Application``: as for
  ``UtilMeta(backend=app)``, the app is returned serving the API first.

It creates the process's service (named after the API class, reachable as ``from utilmeta import
service``), so it is called once per process: mount other API classes below the one given.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from utilmeta.utils.exceptions import SetupError

__all__ = ["embed"]


def embed(api: type[Any], backend: Any, route: str, asynchronous: bool | None, module_name: str) -> Any:
    """``api`` served by ``backend`` below ``route`` (see the module docstring)."""
    from utilmeta.core.server.service import UtilMeta, get_service

    current = get_service()
    if current is not None and current.module_name == module_name:
        # (a service of another module is refused by UtilMeta(...) itself)
        raise SetupError(
            f"{api.__qualname__}.__as__(...): this module already has a service ({current.name!r}); "
            f"__as__ is called once per process, for one API class: mount the others below it"
        )
    if not isinstance(route, str):
        raise SetupError(f"{api.__qualname__}.__as__(backend, route): route must be a string, got {route!r}")
    options: dict[str, Any] = {"name": api.__name__, "api": api, "route": route, "asynchronous": asynchronous}
    if isinstance(backend, ModuleType):
        framework = backend.__name__.split(".")[0]
        if framework == "django":
            from utilmeta.core.server.backends.django.embed import url_pattern

            # the project owns Django (its settings, its server): the core only answers the view
            service = UtilMeta(module_name, "asgi" if asynchronous else "wsgi", **options)
            return url_pattern(service)
        if framework == "tornado":
            from utilmeta.core.server.backends.tornado import TornadoServerAdaptor

            service = UtilMeta(module_name, "tornado", **options)
            adaptor = service.adaptor
            assert isinstance(adaptor, TornadoServerAdaptor)
            service.setup()
            return adaptor.rule()
        raise SetupError(
            f"{api.__qualname__}.__as__({framework}, ...): pass the {framework} application itself "
            f"(the modules accepted are django and tornado)"
        )
    service = UtilMeta(module_name, backend, **options)
    return service.application()
